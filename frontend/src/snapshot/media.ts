/**
 * Images and audio are shown by URL (`<img src>`, `<audio src>`). In a snapshot such a URL would
 * point at a file beside the page that does not exist, so `mediaUrl` hands out a `blob:` URL of
 * the stored bytes instead; served by a server, the URL is returned as it is.
 */
import { base64Bytes, isSnapshot, readySnapshot } from './data';
import { requestKey } from './keys';

const made = new Map<string, string>();

/** An empty `data:` URL: no request, and the element reports that it could not load it. */
const MISSING = 'data:,';

export function mediaUrl(url: string): string {
  if (!isSnapshot()) return url;
  // A card has a media URL once its listing came, through the snapshot's fetch, which waited
  // for the data to be decoded.
  const data = readySnapshot();
  if (!data) return MISSING;
  const key = requestKey(url);
  const known = made.get(key);
  if (known) return known;
  const answer = data.responses[key];
  if (!answer || !('base64' in answer) || answer.status !== 200) return MISSING;
  const blobUrl = URL.createObjectURL(new Blob([base64Bytes(answer.base64)], { type: answer.type }));
  made.set(key, blobUrl);
  return blobUrl;
}
