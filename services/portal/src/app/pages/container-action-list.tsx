import { containerActionList } from '../api/endpoints';
import type { AuditEntry } from '../api/types';
import { when } from '../format';
import { DataTable } from '../ui/data-table';
import { useLoad } from '../ui/hooks';
import { AsyncList } from '../ui/load-status';

const RESULT_LABEL: Record<AuditEntry['result'], string> = {
  accepted: 'accepted',
  succeeded: 'done',
  refused: 'refused',
  failed: 'failed',
};

/** What was asked of the container, by whom and how it ended: its audit entries, newest first. */
export function ContainerActionList({ id }: { id: string }) {
  const list = useLoad(() => containerActionList(id), [id], 10_000);
  return (
    <section aria-labelledby="action-list-heading">
      <h2 id="action-list-heading">Action list</h2>
      <AsyncList loaded={list} what="the action list" problem={list.problem} empty="Nothing on record yet.">
        {(items) => (
          <DataTable
            labelledBy="action-list-heading"
            testId="action-list"
            items={[...items].reverse()}
            rowKey={(e) => String(e.seq)}
            rowData={(e) => ({ 'data-action': e.action, 'data-result': e.result })}
            columns={[
              { label: 'When', cell: (e) => when(e.at) },
              { label: 'Action', cell: (e) => <code>{e.action}</code> },
              { label: 'By', cell: (e) => (e.role === 'system' ? `${e.actor} (platform)` : e.actor) },
              {
                label: 'Result',
                cell: (e) => (
                  <>
                    {RESULT_LABEL[e.result]}
                    {e.status ? ` (${e.status})` : ''}
                  </>
                ),
              },
              { label: 'Reason', cell: (e) => e.reason ?? '' },
              { label: 'From', cell: (e) => e.sourceIp ?? '' },
            ]}
          />
        )}
      </AsyncList>
    </section>
  );
}
