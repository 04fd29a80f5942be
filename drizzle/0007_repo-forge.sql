ALTER TABLE "repos" ADD COLUMN "auto_cancel_pushes" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "repos" ADD COLUMN "auto_cancel_pull_requests" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "repos" ADD COLUMN "forge" text DEFAULT 'git' NOT NULL;--> statement-breakpoint
ALTER TABLE "repos" ADD COLUMN "forge_url" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "repos" ADD COLUMN "forge_token" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "repos" ADD COLUMN "webhook_secret" text DEFAULT '' NOT NULL;