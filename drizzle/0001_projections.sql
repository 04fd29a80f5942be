CREATE TABLE "builds" (
	"id" uuid PRIMARY KEY NOT NULL,
	"repo_id" text NOT NULL,
	"number" integer NOT NULL,
	"status" text NOT NULL,
	"error" text,
	"event" text NOT NULL,
	"action" text DEFAULT '' NOT NULL,
	"ref" text DEFAULT '' NOT NULL,
	"branch" text DEFAULT '' NOT NULL,
	"source_branch" text DEFAULT '' NOT NULL,
	"target_branch" text DEFAULT '' NOT NULL,
	"commit" text DEFAULT '' NOT NULL,
	"before" text DEFAULT '' NOT NULL,
	"message" text DEFAULT '' NOT NULL,
	"title" text DEFAULT '' NOT NULL,
	"link" text DEFAULT '' NOT NULL,
	"author_login" text DEFAULT '' NOT NULL,
	"author_name" text DEFAULT '' NOT NULL,
	"author_email" text DEFAULT '' NOT NULL,
	"author_avatar" text DEFAULT '' NOT NULL,
	"sender" text DEFAULT '' NOT NULL,
	"trigger" text DEFAULT '' NOT NULL,
	"fork" text DEFAULT '' NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"cron" text DEFAULT '' NOT NULL,
	"deploy_to" text DEFAULT '' NOT NULL,
	"deploy_id" integer,
	"parent" integer,
	"config_path" text DEFAULT '' NOT NULL,
	"created" timestamp with time zone NOT NULL,
	"started" timestamp with time zone,
	"finished" timestamp with time zone,
	"updated" timestamp with time zone NOT NULL,
	"version" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "queue" (
	"build_id" uuid NOT NULL,
	"stage" integer NOT NULL,
	"attempt" integer NOT NULL,
	"repo_id" text NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"os" text DEFAULT '' NOT NULL,
	"arch" text DEFAULT '' NOT NULL,
	"variant" text DEFAULT '' NOT NULL,
	"kernel" text DEFAULT '' NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"labels_key" text NOT NULL,
	"concurrency_limit" integer,
	"queued_at" timestamp with time zone NOT NULL,
	CONSTRAINT "queue_pk" PRIMARY KEY("build_id","stage")
);
--> statement-breakpoint
CREATE TABLE "repo_counters" (
	"repo_id" text PRIMARY KEY NOT NULL,
	"last_number" integer NOT NULL,
	"builds" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "repos" (
	"id" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"name" text NOT NULL,
	"slug" text NOT NULL,
	"clone_url" text DEFAULT '' NOT NULL,
	"default_branch" text DEFAULT 'main' NOT NULL,
	"config_path" text DEFAULT '.drone.yml' NOT NULL,
	"timeout" integer DEFAULT 60 NOT NULL,
	"trusted" boolean DEFAULT false NOT NULL,
	"protected" boolean DEFAULT false NOT NULL,
	"visibility" text DEFAULT 'private' NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"created" timestamp with time zone NOT NULL,
	"updated" timestamp with time zone NOT NULL,
	"version" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stages" (
	"build_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"repo_id" text NOT NULL,
	"name" text NOT NULL,
	"kind" text DEFAULT 'pipeline' NOT NULL,
	"type" text NOT NULL,
	"status" text NOT NULL,
	"attempt" integer DEFAULT 0 NOT NULL,
	"runner_id" text,
	"runner_name" text,
	"os" text DEFAULT '' NOT NULL,
	"arch" text DEFAULT '' NOT NULL,
	"variant" text DEFAULT '' NOT NULL,
	"kernel" text DEFAULT '' NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"depends_on" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"on_success" boolean DEFAULT true NOT NULL,
	"on_failure" boolean DEFAULT false NOT NULL,
	"errignore" boolean DEFAULT false NOT NULL,
	"exit_code" integer,
	"error" text,
	"concurrency_limit" integer,
	"started" timestamp with time zone,
	"stopped" timestamp with time zone,
	"created" timestamp with time zone NOT NULL,
	"updated" timestamp with time zone NOT NULL,
	CONSTRAINT "stages_pk" PRIMARY KEY("build_id","number")
);
--> statement-breakpoint
CREATE TABLE "steps" (
	"build_id" uuid NOT NULL,
	"stage" integer NOT NULL,
	"number" integer NOT NULL,
	"name" text NOT NULL,
	"status" text NOT NULL,
	"exit_code" integer,
	"error" text,
	"image" text DEFAULT '' NOT NULL,
	"detached" boolean DEFAULT false NOT NULL,
	"errignore" boolean DEFAULT false NOT NULL,
	"log_size" integer,
	"log_sha256" text,
	"skip_reason" text,
	"retries" integer DEFAULT 0 NOT NULL,
	"started" timestamp with time zone,
	"stopped" timestamp with time zone,
	CONSTRAINT "steps_pk" PRIMARY KEY("build_id","stage","number")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "builds_repo_number_idx" ON "builds" USING btree ("repo_id","number" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "builds_repo_branch_idx" ON "builds" USING btree ("repo_id","branch","number" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "builds_incomplete_idx" ON "builds" USING btree ("repo_id") WHERE "builds"."finished" is null;--> statement-breakpoint
CREATE INDEX "queue_pool_idx" ON "queue" USING btree ("os","arch","labels_key","queued_at");--> statement-breakpoint
CREATE UNIQUE INDEX "repos_slug_idx" ON "repos" USING btree ("slug");--> statement-breakpoint
CREATE INDEX "stages_repo_name_status_idx" ON "stages" USING btree ("repo_id","name","status");