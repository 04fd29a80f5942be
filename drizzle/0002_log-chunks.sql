CREATE TABLE "log_chunks" (
	"build_id" uuid NOT NULL,
	"stage" integer NOT NULL,
	"step" integer NOT NULL,
	"offset" bigint NOT NULL,
	"size" integer NOT NULL,
	"data" text NOT NULL,
	"created" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "log_chunks_pk" PRIMARY KEY("build_id","stage","step","offset")
);
--> statement-breakpoint
CREATE INDEX "log_chunks_created_idx" ON "log_chunks" USING btree ("created");