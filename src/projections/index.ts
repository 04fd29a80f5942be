// Every projection runlog keeps, in the order `runlog projections rebuild` lists them.
import { buildsProjection } from './builds-projection.ts';
import type { Projection } from './projection.ts';
import { cronsProjection, secretsProjection, usersProjection } from './access-projections.ts';
import { queueProjection } from './queue-projection.ts';
import { repoCountersProjection } from './repo-counters-projection.ts';
import { reposProjection } from './repos-projection.ts';
import { stagesProjection } from './stages-projection.ts';
import { stepsProjection } from './steps-projection.ts';

export const projections: readonly Projection[] = [
  reposProjection,
  buildsProjection,
  stagesProjection,
  stepsProjection,
  queueProjection,
  repoCountersProjection,
  usersProjection,
  secretsProjection,
  cronsProjection,
];
