/** The shapes the page reads: Drone's JSON field names, as the API sends them. */
export type Repo = {
  id: string;
  namespace: string;
  name: string;
  slug: string;
  git_http_url: string;
  default_branch: string;
  visibility: string;
  active: boolean;
  config_path: string;
  trusted: boolean;
  protected: boolean;
  timeout: number;
  webhook_secret?: string;
};

export type Step = {
  number: number;
  name: string;
  status: string;
  exit_code: number;
  started: number;
  stopped: number;
  image: string;
  skip_reason?: string;
};

export type Stage = {
  number: number;
  name: string;
  status: string;
  machine: string;
  os: string;
  arch: string;
  attempt: number;
  started: number;
  stopped: number;
  depends_on: string[];
  labels: Record<string, string>;
  steps: Step[];
};

export type Build = {
  id: string;
  number: number;
  status: string;
  event: string;
  action: string;
  ref: string;
  source: string;
  target: string;
  after: string;
  message: string;
  title: string;
  author_login: string;
  author_name: string;
  author_avatar: string;
  link: string;
  error: string;
  deploy_to: string;
  parent: number;
  started: number;
  finished: number;
  created: number;
  stages?: Stage[];
  replay?: unknown;
};

export type HistoryEvent = {
  position: string;
  version: number;
  type: string;
  data: Record<string, unknown> & { at?: string };
  metadata: Record<string, unknown>;
  recorded_at: string;
};

export type LogLine = { pos: number; out: string; time: number };

export const finished = (status: string) => ['success', 'failure', 'killed', 'error', 'declined', 'skipped'].includes(status);
