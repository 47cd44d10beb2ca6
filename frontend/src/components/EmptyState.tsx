/** What a new user sees when there is nothing to show: what to log, and how. */
import type { JSX } from 'preact';

export interface EmptyStateProps {
  title: string;
  /** What is missing, in the lead sentence ("scalars", "histograms" ...). */
  what?: string;
  /** The training-script lines that log it (the `writer.add_*` call in the loop). */
  example?: string;
  /** The log directory the server reads, from /data/environment. */
  dataLocation?: string | undefined;
  loading?: boolean;
}

const SCALAR_EXAMPLE = `    loss = train_step()
    writer.add_scalar("loss/train", loss, step)    # tag, value, step`;

export function EmptyState({
  title,
  what = 'scalars',
  example = SCALAR_EXAMPLE,
  dataLocation,
  loading,
}: EmptyStateProps): JSX.Element {
  return (
    <div class="empty" data-testid="empty-state">
      <h2>{title}</h2>
      {loading ? (
        <p class="empty__lead">The log directory is still being read; charts appear as data loads.</p>
      ) : (
        <p class="empty__lead">
          {dataLocation ? (
            <>
              lumiboard is reading <code>{dataLocation}</code>, and found no {what} there yet.
            </>
          ) : (
            `No ${what} were found.`
          )}{' '}
          Log some from your training script:
        </p>
      )}
      <pre class="code">
        <code>{`from lumiboard import SummaryWriter
# (torch.utils.tensorboard's SummaryWriter works too)

writer = SummaryWriter("runs/exp1")      # one directory per run
for step in range(1000):
${example}
writer.close()`}</code>
      </pre>
      <p>Then point lumiboard at the parent directory; new points appear while training runs:</p>
      <pre class="code">
        <code>lumiboard --logdir runs</code>
      </pre>
      <ul class="empty__hints">
        <li>
          Each sub-directory with event files is a <b>run</b>; tags like <code>loss/train</code> are
          grouped by their part before the first <code>/</code>.
        </li>
        <li>
          <code>torch.utils.tensorboard</code>, <code>tensorboardX</code>, <code>tf.summary</code> and
          Keras' TensorBoard callback write files lumiboard reads.
        </li>
        <li>
          Nothing showing up? Writers buffer: call <code>writer.flush()</code> (torch flushes only
          every 120 s by default), and check that <code>--logdir</code> is the directory above your
          runs.
        </li>
      </ul>
    </div>
  );
}
