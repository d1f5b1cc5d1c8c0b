// Workshop mode: the flow inspector's store and the per-browser handle on it. Always registered, so
// routes and plugins can ask for a recorder without checking the mode: with WORKSHOP_MODE off every call
// answers undefined, nothing is recorded, no cookie is set and no traceparent is sent.
//
// The store is the bounded in-process InspectorStore (see workshop/inspector/store.ts), keyed by a random id in the
// HttpOnly cookie `quartet_client_inspector` (SameSite=Lax, Secure over https): one record per browser that
// survives the session id rotation at connect and the logout, both of which the inspector has to show.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isProduction, signedTraceId } from '@quartet/common';
import {
  INSPECTOR_COOKIE,
  InspectorStore,
  type Flow,
  type FlowRecorder,
  type InspectorLimits,
} from '../workshop/inspector/store.js';

const BROWSER_ID = /^[A-Za-z0-9_-]{43}$/;

export interface Inspector {
  readonly enabled: boolean;
  readonly store: InspectorStore;
  /** This browser's inspector id, if it has one. */
  browserId(request: FastifyRequest): string | undefined;
  /** Starts a new flow (a new trace id) for this browser, giving it an inspector id first if needed. */
  startFlow(request: FastifyRequest, reply: FastifyReply, label: string): FlowRecorder | undefined;
  /** The recorder of one of this browser's flows, or undefined (off, no id, or the flow is gone). */
  recorder(request: FastifyRequest, traceId: string | undefined): FlowRecorder | undefined;
  /** This browser's flows, newest first. */
  flows(request: FastifyRequest): Flow[];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Workshop mode's flow inspector (named so as not to clash with @quartet/common's `workshop` tracing of the servers). */
    inspector: Inspector;
  }
}

export interface InspectorPluginOptions {
  limits?: InspectorLimits;
}

async function inspectorPlugin(app: FastifyInstance, options: InspectorPluginOptions) {
  const { config } = app;
  const enabled = config.WORKSHOP_MODE;
  const store = new InspectorStore(options.limits);

  const browserId = (request: FastifyRequest): string | undefined => {
    if (!enabled) return undefined;
    const id = request.cookies[INSPECTOR_COOKIE];
    return id && BROWSER_ID.test(id) ? id : undefined;
  };

  const inspector: Inspector = {
    enabled,
    store,
    browserId,
    startFlow(request, reply, label) {
      if (!enabled) return undefined;
      let id = browserId(request);
      if (!id) {
        id = randomBytes(32).toString('base64url');
        reply.setCookie(INSPECTOR_COOKIE, id, {
          path: '/',
          httpOnly: true,
          sameSite: 'lax',
          secure: isProduction(config.PUBLIC_URL),
          maxAge: Math.floor(store.limits.ttlMs / 1000),
        });
        // Later calls in this same request (the lab records several flows) must see the new id.
        request.cookies[INSPECTOR_COOKIE] = id;
      }
      // Signed with WORKSHOP_TRACE_SECRET: the servers record steps only for trace ids this app made.
      return store.startFlow(id, signedTraceId(config.WORKSHOP_TRACE_SECRET!), label);
    },
    recorder(request, traceId) {
      const id = browserId(request);
      return id && traceId ? store.recorder(id, traceId) : undefined;
    },
    flows(request) {
      const id = browserId(request);
      return id ? store.flows(id) : [];
    },
  };
  app.decorate('inspector', inspector);
}

export default fp(inspectorPlugin, { name: 'inspector', dependencies: ['config', '@fastify/cookie'] });
