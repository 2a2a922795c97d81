import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { RouteScope } from '../domain/scopes';
import { requireScope } from './auth';
import { rememberRoute } from './http-metrics';
import { ok, validate } from './middleware';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Everything the API says about one route: wiring, validation, and its OpenAPI operation. */
export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: Method;
  /** Express path relative to the table's base, e.g. `/:id`. */
  path: string;
  summary: string;
  scope: RouteScope;
  params?: P;
  query?: Q;
  body?: B;
  /** Success status (default 200). */
  status?: number;
  /** Handler writes the response itself (CSV export, streams). */
  raw?: boolean;
  /** Media type a raw handler writes, for the OpenAPI document (`text/event-stream`). */
  produces?: string;
}

export interface RouteInput<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  params: z.infer<P>;
  query: z.infer<Q>;
  body: z.infer<B>;
  req: Request;
  res: Response;
}

type AnySpec = RouteSpec<z.ZodType, z.ZodType, z.ZodType>;
const empty = z.object({}).strict();

/**
 * A resource's routes under one base path. `add` validates params, query and body with the
 * declared schemas and checks the scope before the handler runs; what the handler returns is
 * sent in the success envelope.
 */
export class RouteTable {
  readonly specs: AnySpec[] = [];
  readonly router = Router({ mergeParams: true });

  constructor(readonly base: string, readonly tag: string) {}

  add<P extends z.ZodType = typeof empty, Q extends z.ZodType = typeof empty, B extends z.ZodType = typeof empty>(
    spec: RouteSpec<P, Q, B>,
    handler: (input: RouteInput<P, Q, B>) => Promise<unknown>,
  ): this {
    this.specs.push(spec as unknown as AnySpec);
    this.router[spec.method](spec.path, rememberRoute, requireScope(spec.scope), async (req: Request, res: Response) => {
      const params = validate(spec.params ?? empty, req.params, 'params');
      const query = validate(spec.query ?? empty, req.query, 'query');
      const body = spec.method === 'get' || spec.method === 'delete' ? undefined : validate(spec.body ?? empty, req.body, 'body');
      const data = await handler({ params, query, body, req, res } as RouteInput<P, Q, B>);
      if (!spec.raw) ok(res, data, spec.status ?? 200);
    });
    return this;
  }
}
