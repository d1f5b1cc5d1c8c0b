// Types of topology.mjs (plain JavaScript: scripts/start.mjs runs before anything is built).
export interface Ports {
  auth: number;
  resource: number;
  client: number;
}
export interface ServiceUrls {
  auth: string;
  resource: string;
  client: string;
}
export declare const DEFAULT_PORTS: Ports;
export declare const DEMO_CLIENT_ID: string;
export declare function serviceUrls(ports: Ports, host?: string): ServiceUrls;
export declare function topology(
  ports: Ports,
  options?: { host?: string; issuer?: string; clientSecret?: string; workshopMode?: string; traceSecret?: string },
): {
  urls: ServiceUrls;
  redirectUri: string;
  env: { auth: Record<string, string>; resource: Record<string, string>; client: Record<string, string> };
};
