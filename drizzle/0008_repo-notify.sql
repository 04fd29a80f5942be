ALTER TABLE "repos" ADD COLUMN "registry" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "repos" ADD COLUMN "notify_email" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "repos" ADD COLUMN "notify_on" jsonb;--> statement-breakpoint
ALTER TABLE "repos" ADD COLUMN "notify_webhook" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "repos" ADD COLUMN "notify_webhook_secret" text DEFAULT '' NOT NULL;