// Control socket client (bondctl): one request, one reply.
import { createConnection } from 'node:net';
import { BondError } from '../errors.js';
import type { Reply } from './protocol.js';

export async function call(path: string, method: string, params: Record<string, unknown> = {}, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new BondError('ECONTROL', `${path}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
          ? 'no daemon is serving this bond (is bondd running, with the same --run-dir?)'
          : e.message;
      reject(new BondError('ECONTROL', `${path}: ${why}`));
    });
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      const reply = JSON.parse(buf.slice(0, nl)) as Reply;
      if (reply.ok) resolve(reply.result);
      else reject(Object.assign(new BondError('ECONTROL', reply.error.message), { code: reply.error.code }));
    });
    sock.write(JSON.stringify({ id: 1, method, params }) + '\n');
  });
}
