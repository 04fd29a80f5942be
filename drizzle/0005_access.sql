CREATE TABLE "crons" (
	"repo_id" text NOT NULL,
	"name" text NOT NULL,
	"expr" text NOT NULL,
	"branch" text NOT NULL,
	"disabled" boolean DEFAULT false NOT NULL,
	"next" timestamp with time zone,
	"last_scheduled" timestamp with time zone,
	"last_build_id" text,
	"last_fired" timestamp with time zone,
	"created" timestamp with time zone NOT NULL,
	"updated" timestamp with time zone NOT NULL,
	"version" integer NOT NULL,
	CONSTRAINT "crons_pk" PRIMARY KEY("repo_id","name")
);
--> statement-breakpoint
CREATE TABLE "repo_permissions" (
	"repo_id" text NOT NULL,
	"login" text NOT NULL,
	"permission" text NOT NULL,
	"updated" timestamp with time zone NOT NULL,
	CONSTRAINT "repo_permissions_pk" PRIMARY KEY("repo_id","login")
);
--> statement-breakpoint
CREATE TABLE "secrets" (
	"repo_id" text NOT NULL,
	"name" text NOT NULL,
	"sealed" text NOT NULL,
	"pull_request" boolean DEFAULT false NOT NULL,
	"pull_request_push" boolean DEFAULT false NOT NULL,
	"created" timestamp with time zone NOT NULL,
	"updated" timestamp with time zone NOT NULL,
	CONSTRAINT "secrets_pk" PRIMARY KEY("repo_id","name")
);
--> statement-breakpoint
CREATE TABLE "user_tokens" (
	"token_id" text PRIMARY KEY NOT NULL,
	"sha256" text NOT NULL,
	"login" text NOT NULL,
	"created" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"login" text PRIMARY KEY NOT NULL,
	"email" text DEFAULT '' NOT NULL,
	"admin" boolean DEFAULT false NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"created" timestamp with time zone NOT NULL,
	"updated" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "crons_next_idx" ON "crons" USING btree ("next");--> statement-breakpoint
CREATE INDEX "repo_permissions_login_idx" ON "repo_permissions" USING btree ("login");--> statement-breakpoint
CREATE UNIQUE INDEX "user_tokens_sha256_idx" ON "user_tokens" USING btree ("sha256");--> statement-breakpoint
CREATE INDEX "user_tokens_login_idx" ON "user_tokens" USING btree ("login");