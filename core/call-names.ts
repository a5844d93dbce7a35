import { type Attributes, SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR_CALL_NAME } from './attributes.js';
import { str } from './units.js';

/**
 * What counts as a call (docs/architecture.md, "Calls and context"): a span of kind CLIENT or PRODUCER, or one
 * our instrumentations named. Everything else under a request (framework middleware, route
 * handlers, fs, nested SERVER spans) is context: shown, never counted.
 */
export function isCallSpan(span: Pick<ReadableSpan, 'kind' | 'attributes'>): boolean {
  return (
    span.kind === SpanKind.CLIENT ||
    span.kind === SpanKind.PRODUCER ||
    typeof span.attributes[ATTR_CALL_NAME] === 'string'
  );
}

/** The operation a statement starts with (`SELECT`, `HGETALL`), upper-cased; undefined if none. */
export function statementOperation(statement: string | undefined): string | undefined {
  if (!statement) return undefined;
  const match = /^\s*(?:\/\*[\s\S]*?\*\/\s*|--[^\n]*\n\s*)*([A-Za-z][A-Za-z_]*)/.exec(statement);
  return match ? match[1].toUpperCase() : undefined;
}

/**
 * SQL keywords and Redis commands read in capitals (`postgresql.SELECT`, `redis.HGETALL`), however
 * the instrumentation spelled them (ioredis says `hgetall`); other systems' operations are kept as
 * given (`mongodb.find`). A multi-word operation (`PIPELINE hgetall`) is kept as given too.
 */
const CAPITALISED_SYSTEMS =
  /^(postgresql|mysql|mariadb|mssql|microsoft\.sql_server|oracle|oracle\.db|sqlite|db2|ibm\.db2|cockroachdb|redis|valkey|h2|clickhouse|trino|spanner|gcp\.spanner)$/i;

function casedOperation(system: string, operation: string): string {
  return CAPITALISED_SYSTEMS.test(system) && !operation.includes(' ') ? operation.toUpperCase() : operation;
}

function statementOf(a: Attributes): string | undefined {
  return str(a['db.query.text']) ?? str(a['db.statement']);
}

/**
 * The original's `service.Call` name of a span: what our instrumentations set, else from the
 * semantic conventions, old and new names alike: `<db system>.<operation>` (the operation
 * attribute, else the statement's first keyword: the pg instrumentation sets only `db.statement`),
 * `<rpc service>.<method>`, `<messaging system>.<operation>`, `http.<METHOD>` for outgoing HTTP
 * (fetch and http alike); else the span name. Few distinct values, never a key or a literal.
 */
export function callName(span: Pick<ReadableSpan, 'name' | 'kind' | 'attributes'>): string {
  const a = span.attributes;
  const explicit = str(a[ATTR_CALL_NAME]);
  if (explicit) return explicit;
  const dbSystem = str(a['db.system.name']) ?? str(a['db.system']);
  if (dbSystem) {
    const operation =
      str(a['db.operation.name']) ?? str(a['db.operation']) ?? statementOperation(statementOf(a));
    // Connection set-up spans carry the system but no operation: their own names say more.
    if (operation) return `${dbSystem}.${casedOperation(dbSystem, operation)}`;
  }
  const rpcService = str(a['rpc.service']);
  const rpcMethod = str(a['rpc.method']);
  if (rpcService && rpcMethod) return `${rpcService}.${rpcMethod}`;
  const messaging = str(a['messaging.system']);
  const messagingOperation = str(a['messaging.operation.name']) ?? str(a['messaging.operation']);
  if (messaging && messagingOperation) return `${messaging}.${messagingOperation}`;
  const httpMethod = str(a['http.request.method']) ?? str(a['http.method']);
  if (httpMethod && span.kind === SpanKind.CLIENT) return `http.${httpMethod.toUpperCase()}`;
  return span.name;
}

/**
 * Connection set-up: pool checkouts, connects, DNS, TLS handshakes. A loop of them is the pool
 * doing its work, not the app's N+1, so findings never count them.
 */
const SET_UP_SYSTEMS = /^(dns|tls|net|tcp|ipc)\./i;
const SET_UP_OPERATIONS = /(^|[._\s-])(connect|connection|acquire|checkout|handshake|auth)([._\s-]|$)/i;
export function isConnectionSetUp(name: string): boolean {
  return SET_UP_SYSTEMS.test(name) || SET_UP_OPERATIONS.test(name);
}

/**
 * A statement or key with its literals replaced: numbers, quoted strings, hex and UUIDs become `?`,
 * so `SELECT * FROM t WHERE id = 3` and `... id = 4` (or `hgetall user:1` and `user:2`) share a
 * shape. Findings group by it; the dashboard's statement rows too.
 */
export function fingerprint(summary: string): string {
  return (
    summary
      .replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*"/g, '?')
      .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '?')
      .replace(/\b0x[0-9a-f]+\b|\b[0-9a-f]{16,}\b/gi, '?')
      // ioredis masks arguments as `[2 other arguments]`: that count is part of the shape.
      .replace(/(^|[^\w$])-?\d+(?:\.\d+)?(?![\w]| other argument)/g, '$1?')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/**
 * True when a summary shows the whole request: no placeholders (`$1`, `?`, `:name`) and no masked
 * or elided arguments. Only such summaries may be called duplicates: two `WHERE id = $1` queries
 * may well have asked for different rows.
 */
export function isCompleteSummary(summary: string): boolean {
  if (!summary) return false;
  if (/\$\d+|(^|[\s(,=])\?(?=$|[\s),;])|(^|[\s(,=]):[A-Za-z_]\w*/.test(summary)) return false;
  if (/\[\s*\d+ other arguments?\s*\]|\[redacted\]|\*\*\*|…|\.\.\./i.test(summary)) return false;
  return true;
}
