import { type Attributes, diag, type Span, SpanStatusCode } from '@opentelemetry/api';
import { safeExecuteInTheMiddle } from '@opentelemetry/instrumentation';
import {
  ATTR_BILLED_OPS,
  ATTR_COST_MICRODOLLARS,
  ATTR_DATASTORE_DETAILS,
  ATTR_NAMESPACE,
  ATTR_RESPONSE_SUMMARY,
} from '../../core/attributes.js';
import { errorSummary } from '../summary.js';
import type { RequestDescription } from './describe-request.js';
import { describeResponse } from './describe-response.js';
import { costMicrodollars, type DatastorePrices } from './pricing.js';
import type { RequestConfig, ResponseProto } from './protos.js';
import type { DatastoreInstrumentationConfig } from './types.js';

/**
 * The span of one Datastore RPC in flight: ends it once, with what the answer says (summary,
 * details, billed ops and cost, or the error). Not the record's `RpcCall`, which is the call as stored.
 */
export class DatastoreRpcSpan {
  private _ended = false;

  constructor(
    readonly span: Span,
    private readonly _config: RequestConfig,
    private readonly _request: RequestDescription,
    private readonly _options: {
      maxRepr: number;
      maxDetailKeys: number;
      prices: DatastorePrices;
      hook?: DatastoreInstrumentationConfig['responseHook'];
      clientMethod?: string;
    },
  ) {}

  end(error: unknown, response: unknown): void {
    if (this._ended) return;
    this._ended = true;
    try {
      const { maxRepr, maxDetailKeys, prices } = this._options;
      if (error) {
        const exception = error instanceof Error ? error : new Error(String(error));
        this.span.recordException(exception);
        this.span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
        const code = (error as { code?: unknown }).code;
        if (code !== undefined) this.span.setAttribute('db.response.status_code', String(code));
        this.span.setAttributes({
          [ATTR_RESPONSE_SUMMARY]: errorSummary(error, maxRepr),
          [ATTR_DATASTORE_DETAILS]: JSON.stringify(this._request.details),
        });
      } else {
        const answer = describeResponse(
          this._config,
          response as ResponseProto,
          this._request,
          maxRepr,
          maxDetailKeys,
        );
        const attributes: Attributes = {
          [ATTR_RESPONSE_SUMMARY]: answer.summary,
          [ATTR_DATASTORE_DETAILS]: JSON.stringify({ ...this._request.details, ...answer.details }),
          [ATTR_BILLED_OPS]: JSON.stringify(answer.ops),
          [ATTR_COST_MICRODOLLARS]: costMicrodollars(answer.ops, prices),
        };
        if (answer.returnedRows !== undefined) attributes['db.response.returned_rows'] = answer.returnedRows;
        if (answer.namespace && this._request.namespace === undefined)
          attributes[ATTR_NAMESPACE] = answer.namespace;
        this.span.setAttributes(attributes);
      }
      const hook = this._options.hook;
      if (hook) {
        safeExecuteInTheMiddle(
          () =>
            hook(this.span, {
              method: String(this._config.method),
              ...(this._options.clientMethod ? { clientMethod: this._options.clientMethod } : {}),
              ...(response !== undefined ? { response } : {}),
              ...(error instanceof Error ? { error } : {}),
            }),
          (hookError) => {
            if (hookError) diag.warn('datastore responseHook threw', hookError);
          },
          true,
        );
      }
    } catch (internal) {
      diag.debug('datastore: describing the response failed', internal);
    } finally {
      this.span.end();
    }
  }
}
