// Peer of bench/image_peers.sh: an image proxy as people write it with sharp (libvips).
// GET /half/<w>/<h>/<path> fetches http://$ORIGIN/<path> (keep-alive connections) and answers
// it resized to fit w x h (the script asks for half the original's size) as JPEG at $QUALITY,
// with sharp's defaults otherwise (libvips shrink-on-load, Lanczos 3, mozjpeg with optimised
// Huffman coding, 4:2:0, metadata stripped). Anything else, or an origin error, is passed on
// as a status without a body.
//
//   PORT=8090 ORIGIN=127.0.0.1:8000 QUALITY=25 node server.js
'use strict';
const http = require('http');
const sharp = require('sharp');

const port = Number(process.env.PORT || 8090);
const [originHost, originPort] = (process.env.ORIGIN || '127.0.0.1:8000').split(':');
const quality = Number(process.env.QUALITY || 25);

// One core per peer in the benchmark: no libvips worker threads beyond the one per image,
// and no operation cache (every request is a different buffer anyway).
sharp.concurrency(1);
sharp.cache(false);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function fetchOrigin(path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: originHost, port: originPort, path, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const route = /^\/half\/(\d+)\/(\d+)(\/.+)$/;

const server = http.createServer(async (req, res) => {
  const m = route.exec(req.url);
  if (req.method !== 'GET' || !m) {
    res.writeHead(404, { 'Content-Length': 0 });
    return res.end();
  }
  try {
    const origin = await fetchOrigin(m[3]);
    if (origin.status !== 200) {
      res.writeHead(origin.status === 404 ? 404 : 502, { 'Content-Length': 0 });
      return res.end();
    }
    const out = await sharp(origin.body)
      .resize(Number(m[1]), Number(m[2]), { fit: 'inside' })
      .jpeg({ quality })
      .toBuffer();
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': out.length });
    res.end(out);
  } catch (e) {
    res.writeHead(502, { 'Content-Length': 0 });
    res.end();
  }
});
server.keepAliveTimeout = 65000;
server.listen(port, '127.0.0.1', () => {
  console.log(`sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}) on 127.0.0.1:${port}, origin ${originHost}:${originPort}, quality ${quality}`);
});
