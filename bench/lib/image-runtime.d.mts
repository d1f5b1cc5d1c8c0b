/** ENV (without HOST and PORT) and node flags of the runtime stage of services/<service>/Dockerfile. */
export function imageRuntime(service: string): { env: Record<string, string>; nodeArgs: string[] };
