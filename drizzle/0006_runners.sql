CREATE TABLE "runners" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"os" text NOT NULL,
	"arch" text NOT NULL,
	"variant" text DEFAULT '' NOT NULL,
	"kernel" text DEFAULT '' NOT NULL,
	"engine" text NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"capacity" integer NOT NULL,
	"stages" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"workspaces" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"version" text DEFAULT '' NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"last_seen" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "queue" ADD COLUMN "route_runner" text;