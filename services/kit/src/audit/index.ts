export { withAuditRequest, currentAuditRequest, type AuditRequest } from './audit-context';
export { routeActionOf, collectionPaths, type RouteAction } from './audit-action';
export {
  insertAuditEntry,
  listAuditEntries,
  type AuditEntry,
  type AuditFilter,
  type AuditResult,
  type NewAuditEntry,
} from './audit-store';
export { recordAudit, type AuditFacts } from './record';
export { pruneAuditEntries, auditPruneTask } from './prune';
