// drizzle-kit's view of the schema: the event log's tables and the projections' views.
// `npm run db:generate` writes a new migration into drizzle/ after a schema change;
// Database (src/events/database.ts) applies them on open.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/events/event-table.ts', './src/projections/tables.ts', './src/logs/log-table.ts', './src/server/leases-table.ts', './src/server/runners-table.ts'],
  out: './drizzle',
});
