/**
 * One audit entry as the API answers it (`GET /v1/audit`, a container's action list): without
 * dependencies, so the portal's browser code and the tests import it as is.
 */
export interface AuditEntryView {
  seq: number;
  at: string;
  source: string;
  actor: string;
  role: string;
  tokenId?: string;
  action: string;
  targetType: string;
  targetId?: string;
  result: 'accepted' | 'succeeded' | 'refused' | 'failed';
  status?: number;
  reason?: string;
  sourceIp?: string;
  userAgent?: string;
  requestId?: string;
  traceId?: string;
  inTransaction: boolean;
  details: Record<string, unknown>;
}
