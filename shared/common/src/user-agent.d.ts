// Types of user-agent.js (plain JavaScript so the benchmark can run it without a TypeScript loader).

export interface TransportRequest {
  method: string;
  /** Absolute URL. */
  url: string;
  headers: Record<string, string>;
  body?: string | undefined;
  timeoutMs?: number;
  [option: string]: unknown;
}

export interface TransportResponse<Raw = unknown> {
  status: number;
  headers: Headers | Record<string, string | string[] | number | undefined>;
  body: string;
  /** The transport's own response (a fetch Response, a light-my-request response …). */
  raw?: Raw;
}

export type Transport<Raw = unknown> = (request: TransportRequest) => Promise<TransportResponse<Raw>>;

export interface Page<Raw = unknown> {
  status: number;
  url: string;
  location: string | null;
  headers: Headers;
  body: string;
  raw: Raw | undefined;
}

export interface Form {
  action: string;
  method: string;
  fields: Record<string, string>;
  buttons: { name: string; value: string; text: string }[];
}

export interface RequestOptions {
  method?: string;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  [option: string]: unknown;
}

export declare function fetchTransport(request: TransportRequest): Promise<TransportResponse<Response>>;

export declare class UserAgent<Raw = unknown> {
  constructor(options?: { transport?: Transport<Raw>; baseUrl?: string; headers?: Record<string, string> });
  /** The cookie jar (tough-cookie), for a test that needs every cookie or the Cookie header for a URL. */
  readonly jar: import('tough-cookie').CookieJar;
  readonly history: string[];
  headers: Record<string, string>;
  cookie(name: string, url?: string): string | undefined;
  setCookie(setCookie: string, url?: string): void;
  request(url: string, options?: RequestOptions): Promise<Page<Raw>>;
  get(url: string, options?: RequestOptions): Promise<Page<Raw>>;
  post(url: string, form: Record<string, string>, options?: RequestOptions): Promise<Page<Raw>>;
  follow(page: Page<Raw>, options?: { max?: number; stop?: (next: URL) => boolean }): Promise<Page<Raw>[]>;
  submit(form: Form, values?: Record<string, string>, button?: Form['buttons'][number]): Promise<Page<Raw>>;
}

export declare function forms(html: string, baseUrl: string): Form[];
export declare function formFor(page: Pick<Page, 'body' | 'url' | 'status'>, path: string): Form;
export declare function textOf(html: string): string;
export declare function pageSummary(html: string): { title: string; detail: string };
