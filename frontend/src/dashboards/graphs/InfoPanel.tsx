/** The node info panel: what the selected node or metanode is, and what it connects to. */
import type { JSX } from 'preact';

import {
  constantValue,
  DANGLING_SENTENCE,
  isFoldedConstant,
  formatBytes,
  formatMicros,
  hasStat,
  itemName,
  nodesOfItem,
  opCounts,
  parseId,
  shapeLabel,
  type Hierarchy,
  type RunMetadataJson,
  type VisibleGraph,
} from './model';

export interface InfoPanelProps {
  hierarchy: Hierarchy;
  view: VisibleGraph;
  id: string;
  stats: RunMetadataJson | null;
  /** The graph's inputs that name no node (explained at the bottom). */
  dangling?: number;
  onSelect: (id: string) => void;
  onClose: () => void;
}

function NodeLink({ h, id, onSelect }: { h: Hierarchy; id: string; onSelect: (id: string) => void }): JSX.Element {
  return (
    <button type="button" class="link-button graph-info__link" title={itemName(h, id)} onClick={() => onSelect(id)}>
      {itemName(h, id)}
    </button>
  );
}

function Totals({ h, id, stats }: { h: Hierarchy; id: string; stats: RunMetadataJson | null }): JSX.Element | null {
  if (!stats) return null;
  let compute = 0;
  let memory = 0;
  let found = false;
  for (const i of nodesOfItem(h, id)) {
    const s = stats.nodes[h.nodes[i]!.name];
    if (!s) continue;
    found = true;
    compute += s.compute_micros;
    memory += s.memory_bytes;
  }
  if (!found) return null;
  return (
    <>
      {hasStat(stats, 'compute') ? (
        <>
          <dt>Compute time</dt>
          <dd data-testid="graph-info-compute">{formatMicros(compute)}</dd>
        </>
      ) : null}
      <dt>Memory</dt>
      <dd data-testid="graph-info-memory">{formatBytes(memory)}</dd>
    </>
  );
}

interface Link {
  id: string;
  other: string;
  count: number;
  control: boolean;
}

/** What flows into and out of an item (an expanded metanode too), by visible item. */
function boundary(h: Hierarchy, view: VisibleGraph, id: string): { inputs: Link[]; outputs: Link[] } {
  const inside = new Set(nodesOfItem(h, id));
  const inputs = new Map<string, Link>();
  const outputs = new Map<string, Link>();
  const add = (links: Map<string, Link>, other: string, control: boolean) => {
    const key = `${other}${control ? '^' : ''}`;
    const link = links.get(key);
    if (link) link.count++;
    else links.set(key, { id: key, other, count: 1, control });
  };
  for (const target of inside) {
    for (const [source, , control] of h.nodes[target]!.inputs ?? []) {
      if (!inside.has(source)) add(inputs, view.rep[source]!, control === 1);
    }
    for (const consumer of h.consumers[target]!) {
      if (inside.has(consumer)) continue;
      const control = (h.nodes[consumer]!.inputs ?? []).some(([s, , c]) => s === target && c === 1);
      add(outputs, view.rep[consumer]!, control);
    }
  }
  return { inputs: [...inputs.values()], outputs: [...outputs.values()] };
}

/** A metanode's inputs or outputs: the items beyond its boundary, with edge counts. */
function BoundaryList({
  h,
  title,
  edges,
  onSelect,
}: {
  h: Hierarchy;
  title: string;
  edges: Link[];
  onSelect: (id: string) => void;
}): JSX.Element {
  return (
    <section>
      <h4>
        {title} ({edges.length})
      </h4>
      <ul class="graph-info__list">
        {edges.map((edge) => (
          <li key={edge.id}>
            <NodeLink h={h} id={edge.other} onSelect={onSelect} />
            <span class="graph-info__shape">{edge.control ? 'control' : `×${edge.count}`}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function InfoPanel({ hierarchy: h, view, id, stats, dangling = 0, onSelect, onClose }: InfoPanelProps): JSX.Element {
  const { kind, index } = parseId(id);
  const { inputs, outputs } = boundary(h, view, id);
  const node = kind === 'node' ? h.nodes[index]! : null;
  const group = kind === 'group' ? h.groups[index]! : null;
  return (
    <aside class="graph-info" data-testid="graph-info">
      <header class="graph-info__head">
        <div>
          <div class="graph-info__kind">{node ? 'Op node' : 'Metanode'}</div>
          <div class="graph-info__name" data-testid="graph-info-name">
            {itemName(h, id)}
          </div>
        </div>
        <button type="button" class="icon-button" title="Close" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </header>
      <dl class="graph-info__fields">
        {node ? (
          <>
            <dt>Operation</dt>
            <dd data-testid="graph-info-op">{node.op || '(none)'}</dd>
            {node.device ? (
              <>
                <dt>Device</dt>
                <dd>{node.device}</dd>
              </>
            ) : null}
            {node.shapes?.length ? (
              <>
                <dt>Output shapes</dt>
                <dd data-testid="graph-info-shapes">{node.shapes.map((s) => (s === null ? 'unknown' : shapeLabel(s) || 'scalar')).join(', ')}</dd>
              </>
            ) : null}
          </>
        ) : (
          <>
            <dt>Nodes</dt>
            <dd data-testid="graph-info-count">{group!.leafCount}</dd>
            <dt>Ops</dt>
            <dd>
              {opCounts(h, id)
                .slice(0, 8)
                .map(([op, count]) => `${op} ×${count}`)
                .join(', ')}
            </dd>
          </>
        )}
        <Totals h={h} id={id} stats={stats} />
      </dl>
      {node?.attrs?.length ? (
        <section>
          <h4>Attributes ({node.attrs.length + (node.more_attrs ?? 0)})</h4>
          <table class="graph-info__attrs" data-testid="graph-info-attrs">
            <tbody>
              {node.attrs.map(([key, value]) => (
                <tr key={key}>
                  <th>{key}</th>
                  <td>{value}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {node.more_attrs ? <p class="graph-info__more">{node.more_attrs} more not shown</p> : null}
        </section>
      ) : null}
      {node?.inputs?.length ? (
        <section>
          <h4>Inputs ({node.inputs.length})</h4>
          <ul class="graph-info__list" data-testid="graph-info-inputs">
            {node.inputs.map(([source, slot, control], i) => (
              <li key={i}>
                <NodeLink h={h} id={`n${source}`} onSelect={onSelect} />
                {slot ? `:${slot}` : ''}
                {control ? <span class="graph-info__tag">control</span> : null}
                {isFoldedConstant(h, source) ? (
                  <span class="graph-info__tag" data-testid="graph-info-constant" title="A constant, folded into this node">
                    constant{constantValue(h, source)}
                  </span>
                ) : null}
                {!control && h.nodes[source]!.shapes?.[slot] ? (
                  <span class="graph-info__shape">{shapeLabel(h.nodes[source]!.shapes![slot]!)}</span>
                ) : null}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {node ? (
        <section>
          <h4>Outputs ({h.consumers[index]!.length})</h4>
          <ul class="graph-info__list" data-testid="graph-info-outputs">
            {h.consumers[index]!.slice(0, 50).map((target, i) => (
              <li key={i}>
                <NodeLink h={h} id={`n${target}`} onSelect={onSelect} />
              </li>
            ))}
          </ul>
        </section>
      ) : (
        <>
          <BoundaryList h={h} title="Inputs from" edges={inputs} onSelect={onSelect} />
          <BoundaryList h={h} title="Outputs to" edges={outputs} onSelect={onSelect} />
        </>
      )}
      {dangling > 0 ? (
        <p class="graph-info__more" data-testid="graph-info-dangling">
          This graph has {dangling} dangling input{dangling === 1 ? '' : 's'}: {DANGLING_SENTENCE}
        </p>
      ) : null}
    </aside>
  );
}
