CREATE TABLE "leases" (
	"build_id" uuid NOT NULL,
	"stage" integer NOT NULL,
	"attempt" integer NOT NULL,
	"lease_token" text NOT NULL,
	"runner_id" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "leases_pk" PRIMARY KEY("build_id","stage")
);
--> statement-breakpoint
CREATE INDEX "leases_expires_at_idx" ON "leases" USING btree ("expires_at");