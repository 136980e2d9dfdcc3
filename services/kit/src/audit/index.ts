export { withAuditRequest, currentAuditRequest, type AuditRequest } from './audit-context';
export { routeActionOf, collectionPaths, type RouteAction } from './audit-action';
export {
  auditInsertOf,
  boundedAuditEntry,
  insertAuditEntry,
  listAuditEntries,
  type AuditEntry,
  type AuditFilter,
  type AuditResult,
  type NewAuditEntry,
} from './audit-store';
export {
  auditEntryOf,
  captureAudit,
  recordAudit,
  recordAudits,
  type AuditCapture,
  type AuditFacts,
} from './record';
export { pruneAuditEntries, auditPruneTask } from './prune';
