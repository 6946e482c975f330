package io.wharf.core.testing;

import io.wharf.core.oci.Digest;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A tiny registry on a raw socket for faults WireMock cannot express: bytes held until a test
 * opens a gate, resets after N bytes, stalls, ignored {@code Range}, wrong bytes, chunked bodies,
 * throttled bandwidth. Counts every request. Serves manifests and blobs from memory; anonymous.
 * One thread per connection (test scale only).
 */
public final class ScriptedUpstream implements AutoCloseable {

  /** How one blob misbehaves. All fields are read when a request for it arrives. */
  public static final class Script {
    /** When set, body bytes past {@link #gateAfter} wait until the latch opens. */
    public volatile CountDownLatch gate;
    public volatile long gateAfter;
    /** Close with RST after this many body bytes, for the first {@link #resets} requests. */
    public volatile long resetAfter = -1;
    public final AtomicInteger resets = new AtomicInteger();
    /** Stop sending (but keep the socket open) after this many bytes, for the first N requests. */
    public volatile long stallAfter = -1;
    public final AtomicInteger stalls = new AtomicInteger();
    /** Answer 200 with the whole body even when asked for a Range. */
    public volatile boolean ignoreRange;
    /** Flip one byte in the middle of the body. */
    public volatile boolean corrupt;
    /** Send the body chunked, without Content-Length. */
    public volatile boolean chunked;
    /** Throttle the body to this many bytes per second (0: unthrottled). */
    public volatile long bytesPerSecond;
    /** Answer every request for it with this status (0: normal). */
    public volatile int status;
  }

  private record ManifestEntry(String mediaType, byte[] body) {}

  /** When non-zero, every manifest request is answered with this status (and {@link #retryAfter}). */
  public volatile int manifestStatus;
  /** {@code Retry-After} value sent with {@link #manifestStatus}, or null. */
  public volatile String retryAfter;
  /** Leave {@code Docker-Content-Digest} out of manifest responses. */
  public volatile boolean omitManifestDigest;
  /** Send a {@code Docker-Content-Digest} that does not match manifest bodies. */
  public volatile boolean lieManifestDigest;
  private final Map<String, Map<String, String>> lastHeaders = new ConcurrentHashMap<>();

  private final ServerSocket server;
  private final String scheme;
  private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "scripted-upstream");
    t.setDaemon(true);
    return t;
  });
  private final Map<String, ManifestEntry> manifests = new ConcurrentHashMap<>();
  private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
  private final Map<String, java.util.Set<String>> blobRepos = new ConcurrentHashMap<>();
  private final java.util.Set<String> deniedRepos = ConcurrentHashMap.newKeySet();
  private final Map<String, java.util.Set<String>> basicUsers = new ConcurrentHashMap<>();
  private final Map<String, byte[]> referrers = new ConcurrentHashMap<>();
  private final Map<String, Script> scripts = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
  private final AtomicLong bodyBytes = new AtomicLong();
  private final Map<String, String> lastQuery = new ConcurrentHashMap<>();
  private final Map<Socket, Boolean> open = new ConcurrentHashMap<>();
  private volatile boolean closed;

  public ScriptedUpstream() throws IOException {
    this(null);
  }

  /** Over TLS with {@code tls}'s key and certificate (made for {@code localhost}), when not null. */
  public ScriptedUpstream(javax.net.ssl.SSLContext tls) throws IOException {
    server = tls == null
        ? new ServerSocket(0, 200, InetAddress.getLoopbackAddress())
        : tls.getServerSocketFactory().createServerSocket(0, 200, InetAddress.getLoopbackAddress());
    this.scheme = tls == null ? "http://127.0.0.1:" : "https://localhost:";
    threads.execute(this::acceptLoop);
  }

  public String url() {
    return scheme + server.getLocalPort();
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Adds a manifest under a tag (or digest) reference; it is also served by its digest. */
  public Digest putManifest(String repo, String ref, String mediaType, byte[] body) {
    Digest d = Digest.sha256Of(body);
    manifests.put(repo + ":" + ref, new ManifestEntry(mediaType, body));
    manifests.put(repo + ":" + d, new ManifestEntry(mediaType, body));
    return d;
  }

  /** Answers {@code GET /v2/<repo>/referrers/<digest>} with {@code indexJson} (else 404). */
  public void putReferrers(String repo, Digest subject, String indexJson) {
    referrers.put(repo + "@" + subject, indexJson.getBytes(StandardCharsets.UTF_8));
  }

  /** Adds a blob (to every repository: blobs are content-addressed). */
  public Digest putBlob(byte[] body) {
    Digest d = Digest.sha256Of(body);
    blobs.put(d.toString(), body);
    return d;
  }

  /**
   * Serves blob {@code digest} only in {@code repos}; every other repository answers 404
   * BLOB_UNKNOWN for it, as a registry does for a blob it never linked to that repository.
   */
  public void onlyIn(Digest digest, String... repos) {
    blobRepos.put(digest.toString(), java.util.Set.of(repos));
  }

  /** Answers every request for {@code repo} with 403 DENIED (a private repository). */
  public void deny(String repo) {
    deniedRepos.add(repo);
  }

  /**
   * Makes {@code repo} private: its requests (manifests, blobs, tags) need Basic credentials of a
   * user allowed with this method, else 401 with a Basic challenge. Call again to allow more users.
   */
  public void allowBasic(String repo, String user, String password) {
    basicUsers.computeIfAbsent(repo, k -> ConcurrentHashMap.newKeySet()).add("Basic "
        + java.util.Base64.getEncoder().encodeToString((user + ":" + password)
            .getBytes(StandardCharsets.UTF_8)));
  }

  /** Serves {@code body} under {@code digest} even though it does not hash to it. */
  public void putBlobUnder(Digest digest, byte[] body) {
    blobs.put(digest.toString(), body);
  }

  /** The script for {@code digest} (created on first use). */
  public Script script(Digest digest) {
    return scripts.computeIfAbsent(digest.toString(), k -> new Script());
  }

  /** Requests seen for {@code "GET /v2/repo/blobs/sha256:..."} (method, space, path without query). */
  public int count(String methodAndPath) {
    AtomicInteger c = counts.get(methodAndPath);
    return c == null ? 0 : c.get();
  }

  /** Blob GETs for {@code digest} in any repository. */
  public int blobGets(Digest digest) {
    int n = 0;
    for (Map.Entry<String, AtomicInteger> e : counts.entrySet()) {
      if (e.getKey().startsWith("GET ") && e.getKey().endsWith("/blobs/" + digest)) {
        n += e.getValue().get();
      }
    }
    return n;
  }

  /** A header (lower-case name) of the last request with this method and path, or null. */
  public String lastHeader(String methodAndPath, String name) {
    Map<String, String> h = lastHeaders.get(methodAndPath);
    return h == null ? null : h.get(name);
  }

  /** The query string of the last request with this method and path, or null. */
  public String lastQuery(String methodAndPath) {
    return lastQuery.get(methodAndPath);
  }

  /** Tags of {@code repo}, sorted; {@code n} and {@code last} paginate with a Link header. */
  private void tagsList(OutputStream out, String repo, String query, boolean head)
      throws IOException {
    java.util.TreeSet<String> tags = new java.util.TreeSet<>();
    for (String k : manifests.keySet()) {
      if (k.startsWith(repo + ":") && !k.substring(repo.length() + 1).contains(":")) {
        tags.add(k.substring(repo.length() + 1));
      }
    }
    if (tags.isEmpty()) {
      notFound(out, "NAME_UNKNOWN", head);
      return;
    }
    int n = Integer.MAX_VALUE;
    String last = null;
    for (String p : query.split("&")) {
      if (p.startsWith("n=")) {
        n = Integer.parseInt(p.substring(2));
      } else if (p.startsWith("last=")) {
        last = p.substring(5);
      }
    }
    java.util.List<String> page = new java.util.ArrayList<>(
        last == null ? tags : tags.tailSet(last, false));
    boolean more = page.size() > n;
    if (more) {
      page = page.subList(0, n);
    }
    StringBuilder json = new StringBuilder("{\"name\":\"" + repo + "\",\"tags\":[");
    for (int i = 0; i < page.size(); i++) {
      json.append(i == 0 ? "" : ",").append('"').append(page.get(i)).append('"');
    }
    json.append("]}");
    Map<String, String> extra = more
        ? Map.of("Link", "</v2/" + repo + "/tags/list?last=" + page.get(page.size() - 1) + "&n=" + n
            + ">; rel=\"next\"")
        : Map.of();
    respond(out, 200, "application/json", json.toString().getBytes(StandardCharsets.UTF_8), head,
        extra);
  }

  /** All counters, for failure messages. */
  public Map<String, Integer> counts() {
    Map<String, Integer> m = new LinkedHashMap<>();
    counts.forEach((k, v) -> m.put(k, v.get()));
    return m;
  }

  public long bodyBytesSent() {
    return bodyBytes.get();
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket s = server.accept();
        open.put(s, Boolean.TRUE);
        threads.execute(() -> serve(s));
      } catch (IOException e) {
        if (!closed) {
          throw new IllegalStateException(e);
        }
      }
    }
  }

  private void serve(Socket s) {
    try (s) {
      s.setTcpNoDelay(true);
      InputStream in = new BufferedInputStream(s.getInputStream());
      OutputStream out = s.getOutputStream();
      for (; ; ) {
        String line = readLine(in);
        if (line == null || line.isEmpty()) {
          return;
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (String h = readLine(in); h != null && !h.isEmpty(); h = readLine(in)) {
          int c = h.indexOf(':');
          if (c > 0) {
            headers.put(h.substring(0, c).trim().toLowerCase(Locale.ROOT), h.substring(c + 1).trim());
          }
        }
        String[] parts = line.split(" ");
        String method = parts[0];
        String target = parts[1];
        String path = target.contains("?") ? target.substring(0, target.indexOf('?')) : target;
        counts.computeIfAbsent(method + " " + path, k -> new AtomicInteger()).incrementAndGet();
        String query = target.contains("?") ? target.substring(target.indexOf('?') + 1) : "";
        lastQuery.put(method + " " + path, query);
        lastHeaders.put(method + " " + path, headers);
        if (!handle(s, out, method, path, query, headers)) {
          return;
        }
      }
    } catch (IOException e) {
      // client went away or we reset: fine for a test server
    } finally {
      open.remove(s);
    }
  }

  /** Returns false when the connection must end. */
  private boolean handle(Socket s, OutputStream out, String method, String path, String query,
      Map<String, String> headers) throws IOException {
    boolean head = method.equals("HEAD");
    if (path.equals("/v2/") || path.equals("/v2")) {
      respond(out, 200, "application/json", "{}".getBytes(StandardCharsets.UTF_8), head, Map.of());
      return true;
    }
    int nameEnd = Math.max(path.indexOf("/tags/list"),
        Math.max(path.indexOf("/manifests/"), path.indexOf("/blobs/")));
    java.util.Set<String> users = nameEnd > 4 ? basicUsers.get(path.substring(4, nameEnd)) : null;
    if (users != null && !users.contains(headers.getOrDefault("authorization", ""))) {
      respond(out, 401, "application/json",
          "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"scripted\"}]}"
              .getBytes(StandardCharsets.UTF_8), head,
          Map.of("WWW-Authenticate", "Basic realm=\"scripted\""));
      return true;
    }
    if (path.endsWith("/tags/list")) {
      tagsList(out, path.substring(4, path.length() - "/tags/list".length()), query, head);
      return true;
    }
    int rf = path.indexOf("/referrers/");
    if (rf > 0) {
      byte[] body = referrers.get(path.substring(4, rf) + "@" + path.substring(rf + 11));
      if (body == null) {
        notFound(out, "NAME_UNKNOWN", head);
      } else {
        respond(out, 200, "application/vnd.oci.image.index.v1+json", body, head, Map.of());
      }
      return true;
    }
    if (nameEnd > 4 && deniedRepos.contains(path.substring(4, nameEnd))) {
      respond(out, 403, "application/json",
          "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"scripted\"}]}"
              .getBytes(StandardCharsets.UTF_8), head, Map.of());
      return true;
    }
    int m = path.indexOf("/manifests/");
    if (m > 0) {
      String repo = path.substring(4, m);
      String ref = path.substring(m + "/manifests/".length());
      if (manifestStatus != 0) {
        respond(out, manifestStatus, "application/json",
            "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"scripted\"}]}"
                .getBytes(StandardCharsets.UTF_8), head,
            retryAfter == null ? Map.of() : Map.of("Retry-After", retryAfter));
        return true;
      }
      ManifestEntry e = manifests.get(repo + ":" + ref);
      if (e == null) {
        notFound(out, "MANIFEST_UNKNOWN", head);
        return true;
      }
      Digest advertised = lieManifestDigest
          ? Digest.sha256Of((new String(e.body(), StandardCharsets.UTF_8) + " ").getBytes(StandardCharsets.UTF_8))
          : Digest.sha256Of(e.body());
      respond(out, 200, e.mediaType(), e.body(), head, omitManifestDigest ? Map.of()
          : Map.of("Docker-Content-Digest", advertised.toString()));
      return true;
    }
    int b = path.indexOf("/blobs/");
    if (b > 0) {
      String digest = path.substring(b + "/blobs/".length());
      byte[] body = blobs.get(digest);
      java.util.Set<String> in = blobRepos.get(digest);
      if (body == null || (in != null && !in.contains(path.substring(4, b)))) {
        notFound(out, "BLOB_UNKNOWN", head);
        return true;
      }
      Script sc = scripts.getOrDefault(digest, new Script());
      return sendBlob(s, out, sc, body, digest, head, headers.get("range"));
    }
    notFound(out, "NAME_UNKNOWN", head);
    return true;
  }

  private boolean sendBlob(Socket s, OutputStream out, Script sc, byte[] body, String digest,
      boolean head, String range) throws IOException {
    if (sc.status != 0) {
      respond(out, sc.status, "application/json",
          "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"scripted\"}]}".getBytes(StandardCharsets.UTF_8),
          head, Map.of());
      return true;
    }
    long start = 0;
    if (range != null && !sc.ignoreRange && range.startsWith("bytes=")) {
      String spec = range.substring(6);
      start = Long.parseLong(spec.substring(0, spec.indexOf('-')));
    }
    byte[] payload = body;
    if (sc.corrupt) {
      payload = body.clone();
      payload[payload.length / 2] ^= 0x5a;
    }
    StringBuilder h = new StringBuilder();
    if (start > 0) {
      h.append("HTTP/1.1 206 Partial Content\r\n");
      h.append("Content-Range: bytes ").append(start).append('-').append(body.length - 1)
          .append('/').append(body.length).append("\r\n");
    } else {
      h.append("HTTP/1.1 200 OK\r\n");
    }
    h.append("Content-Type: application/octet-stream\r\n");
    h.append("Docker-Content-Digest: ").append(digest).append("\r\n");
    if (sc.chunked && !head) {
      h.append("Transfer-Encoding: chunked\r\n");
    } else {
      h.append("Content-Length: ").append(body.length - start).append("\r\n");
    }
    h.append("\r\n");
    out.write(h.toString().getBytes(StandardCharsets.US_ASCII));
    out.flush();
    if (head) {
      return true;
    }
    boolean resetThis = sc.resetAfter >= 0 && sc.resets.getAndDecrement() > 0;
    boolean stallThis = sc.stallAfter >= 0 && sc.stalls.getAndDecrement() > 0;
    long sentInBody = 0;
    long t0 = System.nanoTime();
    int chunk = 16 * 1024;
    for (long pos = start; pos < payload.length; ) {
      long absolute = pos;
      if (sc.gate != null && absolute >= sc.gateAfter) {
        try {
          if (!sc.gate.await(60, TimeUnit.SECONDS)) {
            return false;
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      int n = (int) Math.min(chunk, payload.length - pos);
      if (sc.gate != null && absolute < sc.gateAfter) {
        n = (int) Math.min(n, sc.gateAfter - absolute);
      }
      if (resetThis && absolute + n > sc.resetAfter) {
        n = (int) Math.max(0, sc.resetAfter - absolute);
        write(out, payload, (int) pos, n, sc.chunked);
        out.flush();
        s.setSoLinger(true, 0);
        s.close();
        return false;
      }
      if (stallThis && absolute + n > sc.stallAfter) {
        n = (int) Math.max(0, sc.stallAfter - absolute);
        write(out, payload, (int) pos, n, sc.chunked);
        out.flush();
        // Hold the connection open and silent until the client gives up.
        while (!closed && !s.isClosed()) {
          if (s.getInputStream().read() < 0) {
            break;
          }
        }
        return false;
      }
      write(out, payload, (int) pos, n, sc.chunked);
      pos += n;
      sentInBody += n;
      bodyBytes.addAndGet(n);
      if (sc.bytesPerSecond > 0) {
        long due = t0 + sentInBody * 1_000_000_000L / sc.bytesPerSecond;
        long wait = due - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
      }
    }
    if (sc.chunked) {
      out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    }
    out.flush();
    return true;
  }

  private static void write(OutputStream out, byte[] b, int off, int len, boolean chunked)
      throws IOException {
    if (len <= 0) {
      return;
    }
    if (chunked) {
      out.write((Integer.toHexString(len) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(b, off, len);
      out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    } else {
      out.write(b, off, len);
    }
  }

  private static void notFound(OutputStream out, String code, boolean head) throws IOException {
    respond(out, 404, "application/json",
        ("{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"not found\"}]}")
            .getBytes(StandardCharsets.UTF_8), head, Map.of());
  }

  private static void respond(OutputStream out, int status, String type, byte[] body, boolean head,
      Map<String, String> extra) throws IOException {
    StringBuilder h = new StringBuilder("HTTP/1.1 ").append(status).append(' ')
        .append(status == 200 ? "OK" : "Status").append("\r\n");
    h.append("Content-Type: ").append(type).append("\r\n");
    h.append("Content-Length: ").append(body.length).append("\r\n");
    h.append("Docker-Distribution-API-Version: registry/2.0\r\n");
    extra.forEach((k, v) -> h.append(k).append(": ").append(v).append("\r\n"));
    h.append("\r\n");
    out.write(h.toString().getBytes(StandardCharsets.US_ASCII));
    if (!head) {
      out.write(body);
    }
    out.flush();
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c = in.read(); c >= 0; c = in.read()) {
      if (c == '\n') {
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
      if (b.size() > 16384) {
        throw new SocketException("header line too long");
      }
    }
    return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
    for (Socket s : open.keySet()) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    threads.shutdownNow();
  }
}
