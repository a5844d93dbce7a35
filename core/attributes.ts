/**
 * Span attributes through which an instrumentation hands appstats what semantic conventions do not
 * carry. Our own instrumentations set them; any other instrumentation may, and spans without them
 * are named and summarised from the semantic conventions instead (see `callName`).
 */
export const ATTR_CALL_NAME = 'appstats.call';
export const ATTR_REQUEST_SUMMARY = 'appstats.request_summary';
export const ATTR_RESPONSE_SUMMARY = 'appstats.response_summary';
export const ATTR_NAMESPACE = 'appstats.namespace';
/** JSON of `DatastoreDetails`. */
export const ATTR_DATASTORE_DETAILS = 'appstats.datastore_details';
/** JSON of `BilledOp[]`. */
export const ATTR_BILLED_OPS = 'appstats.billed_ops';
export const ATTR_COST_MICRODOLLARS = 'appstats.cost_microdollars';

/** A root span carrying this attribute (set to true) is not recorded: the viewer marks its own requests so. */
export const ATTR_IGNORE = 'appstats.ignore';

/** Prefix of the attributes above: they become record fields, not copied as attributes. */
export const APPSTATS_ATTRIBUTE_PREFIX = 'appstats.';
