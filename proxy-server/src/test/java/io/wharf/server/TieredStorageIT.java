package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.wharf.core.config.WharfConfig;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.store.TieredStore;
import io.wharf.core.testing.ScriptedUpstream;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.TestClient;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two disk tiers under budgets, on real sockets: demotion, intact bytes, no needless re-fetch;
 * and blobs no tier has room for, passed through uncached.
 */
@Timeout(120)
class TieredStorageIT {
  @TempDir Path dir;
  ScriptedUpstream upstream;
  WharfServer server;
  TestClient client;

  @BeforeEach
  void setUp() throws IOException {
    upstream = new ScriptedUpstream();
  }

  @AfterEach
  void tearDown() throws IOException {
    if (server != null) {
      server.close();
    }
    upstream.close();
  }

  private void start(long fast, long large) {
    start(fast, large, "");
  }

  /** {@code upstreamYaml}: more keys of the upstream entry, indented four spaces. */
  private void start(long fast, long large, String upstreamYaml) {
    String yaml = "listen: 127.0.0.1:0\n"
        + "upstreams:\n  - name: up\n    url: " + upstream.url() + "\n    idleTimeout: 5s\n"
        + upstreamYaml
        + "storage:\n  tiers:\n"
        + "    - type: memory\n      maxSize: 1MiB\n"
        + "    - path: " + dir.resolve("fast") + "\n      maxSize: " + fast + "\n"
        + "    - path: " + dir.resolve("large") + "\n      maxSize: " + large + "\n"
        + "server:\n  shutdownGrace: 2s\n";
    server = WharfServer.start(WharfConfig.parse(yaml));
    client = new TestClient(server.port());
  }

  private TieredStore store() {
    return server.services().blobs().store();
  }

  private double counter(String name, String... tags) {
    var c = server.services().meters().registry().find(name).tags(tags).counter();
    return c == null ? 0 : c.count();
  }

  private static long bytesUnder(Path blobs) throws IOException {
    if (!Files.exists(blobs)) {
      return 0;
    }
    try (Stream<Path> s = Files.walk(blobs)) {
      return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  @Test
  void pullMoreThanTheFastTierHolds_demotes_servesIntactBytes_neverRefetchesWhatIsStillStored()
      throws Exception {
    TestImages.Image img = TestImages.image(21, 400_000, 400_000, 400_000, 400_000, 400_000,
        400_000);
    TestImages.publish(upstream, "team/app", "v1", img);
    start(1_000_000, 3_000_000);
    List<Digest> layers = new ArrayList<>();
    for (int i = 0; i < img.layers().size(); i++) {
      layers.add(img.layerDigest(i));
    }
    for (int round = 0; round < 3; round++) {
      for (Digest d : layers) {
        HttpResponse<byte[]> r = client.get("/v2/team/app/blobs/" + d);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(Digest.sha256Of(r.body())).isEqualTo(d);
        assertThat(r.headers().firstValue("Content-Length"))
            .contains(Integer.toString(r.body().length));
      }
      await().until(() -> store().pendingMoves() == 0);
    }
    for (Digest d : layers) {
      assertThat(upstream.blobGets(d)).as("upstream GETs of %s", d).isEqualTo(1);
      assertThat(store().tierOf(d)).as("tier of %s", d).isIn("disk0", "disk1");
    }
    assertThat(counter(WharfMeters.STORE_EVICTIONS, "tier", "disk0", "result", "demoted"))
        .isGreaterThanOrEqualTo(4);
    assertThat(counter(WharfMeters.STORE_LOOKUPS, "tier", "disk1", "result", "hit")).isPositive();
    assertThat(bytesUnder(dir.resolve("fast/blobs"))).isLessThanOrEqualTo(1_000_000);
    assertThat(bytesUnder(dir.resolve("large/blobs"))).isLessThanOrEqualTo(3_000_000);
    assertThat(bytesUnder(dir.resolve("large/blobs"))).isGreaterThanOrEqualTo(4 * 400_000);
    String metrics = new String(client.get("/metrics").body(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(metrics).contains("wharf_store_entries{tier=\"disk1\"}")
        .contains("wharf_store_bytes{tier=\"disk0\"}")
        .contains("wharf_store_evictions_total{result=\"demoted\",tier=\"disk0\"}");
  }

  @Test
  void blobEvictedAndDeletedWhileAClientReadsIt_clientStillGetsEveryByte() throws Exception {
    int size = 6 << 20;
    byte[] a = TestImages.bytes(31, size);
    Digest da = upstream.putBlob(a);
    Digest db = upstream.putBlob(TestImages.bytes(32, size));
    Digest dc = upstream.putBlob(TestImages.bytes(33, size));
    start(7 << 20, 7 << 20); // each tier holds one of them
    HttpResponse<InputStream> slow = client.stream("/v2/app/blobs/" + da);
    assertThat(slow.statusCode()).isEqualTo(200);
    byte[] head = slow.body().readNBytes(64 << 10);
    await().until(() -> "disk0".equals(store().tierOf(da)));
    assertThat(Digest.sha256Of(client.get("/v2/app/blobs/" + db).body())).isEqualTo(db);
    assertThat(Digest.sha256Of(client.get("/v2/app/blobs/" + dc).body())).isEqualTo(dc);
    // a went down to disk1 and was then deleted from it to make room for b.
    await().until(() -> store().pendingMoves() == 0 && store().tierOf(da) == null);
    assertThat(counter(WharfMeters.STORE_EVICTIONS, "tier", "disk1", "result", "deleted"))
        .isEqualTo(1);
    MessageDigest md = Digest.newSha256();
    md.update(head);
    long n = head.length;
    try (InputStream in = slow.body()) {
      byte[] buf = new byte[64 << 10];
      for (int k = in.read(buf); k >= 0; k = in.read(buf)) {
        md.update(buf, 0, k);
        n += k;
      }
    }
    assertThat(n).isEqualTo(size);
    assertThat("sha256:" + HexFormat.of().formatHex(md.digest())).isEqualTo(da.toString());
    // Gone now: the next request fetches it again, whole.
    HttpResponse<byte[]> again = client.get("/v2/app/blobs/" + da);
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(Arrays.equals(again.body(), a)).isTrue();
    assertThat(upstream.blobGets(da)).isEqualTo(2);
  }

  @Test
  void blobNoTierCanHold_leaderGetsItUncachedAndVerified_concurrentRequestsGet503_nothingKept()
      throws Exception {
    byte[] bigBytes = TestImages.bytes(41, 300_000);
    Digest big = upstream.putBlob(bigBytes);
    Digest small = upstream.putBlob(TestImages.bytes(42, 50_000));
    ScriptedUpstream.Script script = upstream.script(big);
    script.gate = new CountDownLatch(1);
    script.gateAfter = 100_000;
    start(100_000, 200_000);
    CompletableFuture<TestClient.Result> leader = client.getHashed("/v2/app/blobs/" + big);
    await().until(() -> counter(WharfMeters.STORE_PASSTHROUGH) == 1);
    // The leader's stream is parked at the gate: these join its fetch and must not wait for it.
    List<CompletableFuture<HttpResponse<byte[]>>> joiners = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      joiners.add(CompletableFuture.supplyAsync(() -> {
        try {
          return client.get("/v2/app/blobs/" + big);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    for (CompletableFuture<HttpResponse<byte[]>> f : joiners) {
      HttpResponse<byte[]> r = f.get(30, TimeUnit.SECONDS);
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.headers().firstValue("Retry-After"))
          .contains(Long.toString(TieredStore.NO_ROOM_RETRY_AFTER_SECONDS));
      assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("UNAVAILABLE");
    }
    assertThat(leader).as("leader still parked at the gate").isNotDone();
    script.gate.countDown();
    TestClient.Result r = leader.get(30, TimeUnit.SECONDS);
    assertThat(r.error()).isNull();
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.bytes()).isEqualTo(bigBytes.length);
    assertThat(r.digest()).isEqualTo(big.toString());
    assertThat(upstream.blobGets(big)).as("joiners never went upstream").isEqualTo(1);
    await().until(() -> server.services().blobs().inFlight().size() == 0);
    assertNothingKept(big);
    assertThat(counter(WharfMeters.STORE_NO_ROOM)).isGreaterThanOrEqualTo(1);
    assertThat(counter(WharfMeters.FETCH_RESULTS, "upstream", "up", "result", "passthrough"))
        .isEqualTo(1);
    await().until(() -> counter(WharfMeters.SERVED_BYTES, "source", "passthrough")
        == bigBytes.length);
    String metrics = new String(client.get("/metrics").body(), StandardCharsets.UTF_8);
    assertThat(metrics).contains("wharf_store_passthrough_total 1.0");
    // Nothing is remembered: the next request passes through again, whole and verified.
    TestClient.Result again = client.getHashed("/v2/app/blobs/" + big).get(30, TimeUnit.SECONDS);
    assertThat(again.digest()).isEqualTo(big.toString());
    assertThat(upstream.blobGets(big)).isEqualTo(2);
    assertThat(counter(WharfMeters.STORE_PASSTHROUGH)).isEqualTo(2);
    // Smaller blobs are still cached as usual.
    assertThat(Digest.sha256Of(client.get("/v2/app/blobs/" + small).body())).isEqualTo(small);
    await().atMost(Duration.ofSeconds(10)).until(() -> "disk0".equals(store().tierOf(small)));
  }

  @Test
  void everyDiskBelowItsFloor_passesThroughUncached_thenCachesByItselfOnceSpaceIsBack()
      throws Exception {
    byte[] bytes = TestImages.bytes(43, 200_000);
    Digest d = upstream.putBlob(bytes);
    AtomicLong free = new AtomicLong(100L << 20);
    String yaml = "listen: 127.0.0.1:0\n"
        + "upstreams:\n  - name: up\n    url: " + upstream.url() + "\n    idleTimeout: 5s\n"
        + "storage:\n  tiers:\n"
        + "    - path: " + dir.resolve("fast") + "\n      minFree: 1GiB\n"
        + "    - path: " + dir.resolve("large") + "\n      minFree: 1GiB\n"
        + "server:\n  shutdownGrace: 2s\n";
    server = WharfServer.start(WharfConfig.parse(yaml), System.getenv(), p -> free.get());
    client = new TestClient(server.port());

    HttpResponse<byte[]> first = client.get("/v2/app/blobs/" + d);
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.body()).isEqualTo(bytes);
    await().until(() -> server.services().blobs().inFlight().size() == 0);
    assertNothingKept(d);
    assertThat(counter(WharfMeters.STORE_PASSTHROUGH)).isEqualTo(1);
    assertThat(client.get("/readyz").statusCode()).as("full disks are not unreadiness")
        .isEqualTo(200);

    free.set(100L << 30); // space is back
    HttpResponse<byte[]> second = client.get("/v2/app/blobs/" + d);
    assertThat(second.body()).isEqualTo(bytes);
    await().atMost(Duration.ofSeconds(10)).until(() -> "disk0".equals(store().tierOf(d)));
    assertThat(client.get("/v2/app/blobs/" + d).body()).isEqualTo(bytes);
    assertThat(upstream.blobGets(d)).as("passed through once, then fetched once and cached")
        .isEqualTo(2);
    assertThat(counter(WharfMeters.STORE_PASSTHROUGH)).isEqualTo(1);
  }

  @Test
  void passthroughOfCorruptUpstreamBody_connectionCutBeforeTheLastByte_nothingKept()
      throws Exception {
    byte[] bytes = TestImages.bytes(44, 300_000);
    Digest d = upstream.putBlob(bytes);
    upstream.script(d).corrupt = true;
    start(100_000, 200_000);
    try (RawGet get = new RawGet(server.port(), "/v2/app/blobs/" + d, 0)) {
      assertThat(get.status).isEqualTo(200);
      assertThat(get.contentLength).isEqualTo(bytes.length);
      long n = get.readBody(Digest.newSha256());
      assertThat(n).as("body bytes before the cut").isLessThan(bytes.length);
    }
    await().until(() -> counter(WharfMeters.FETCH_RESULTS, "upstream", "up", "result",
        "digest_mismatch") == 1);
    await().until(() -> server.services().blobs().inFlight().size() == 0);
    assertNothingKept(d);
    upstream.script(d).corrupt = false;
    assertThat(client.get("/v2/app/blobs/" + d).body()).isEqualTo(bytes);
  }

  @Test
  void passthroughToAStalledClient_upstreamReadOnlyAsFastAsTheClientTakesBytes() throws Exception {
    int size = 80 << 20;
    byte[] bytes = TestImages.bytes(45, size);
    Digest d = upstream.putBlob(bytes);
    start(100_000, 200_000);
    try (RawGet get = new RawGet(server.port(), "/v2/app/blobs/" + d, 64 << 10)) {
      assertThat(get.status).isEqualTo(200);
      await().until(() -> upstream.bodyBytesSent() > 0);
      // The client reads nothing. Socket buffers on both connections may hold some MiB; without
      // backpressure Wharf would pull all 80 MiB from the upstream onto its heap meanwhile.
      await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10))
          .until(() -> upstream.bodyBytesSent() < 40L << 20);
      MessageDigest md = Digest.newSha256();
      assertThat(get.readBody(md)).isEqualTo(size);
      assertThat("sha256:" + HexFormat.of().formatHex(md.digest())).isEqualTo(d.toString());
    }
    assertNothingKept(d);
  }

  @Test
  void passthroughWithRange_servedWhole200_noUnverifiedRange() throws Exception {
    // A streamed, uncached blob is never held, so a range of it could only go out unverified:
    // Range is ignored and the whole blob sent (its final byte held back until the digest matches).
    byte[] bytes = TestImages.bytes(46, 300_000);
    Digest d = upstream.putBlob(bytes);
    start(100_000, 200_000);
    HttpResponse<byte[]> mid = client.get("/v2/app/blobs/" + d, "Range", "bytes=100000-149999");
    assertThat(mid.statusCode()).isEqualTo(200);
    assertThat(mid.headers().firstValue("Content-Range")).isEmpty();
    assertThat(mid.body()).isEqualTo(bytes);
    assertThat(counter(WharfMeters.STORE_PASSTHROUGH)).isEqualTo(1);
    await().until(() -> server.services().blobs().inFlight().size() == 0);
    assertNothingKept(d);
  }

  @Test
  void passthroughWithRange_wrongUpstreamBytes_neverAWholeResponse() throws Exception {
    byte[] bytes = TestImages.bytes(47, 300_000);
    Digest d = upstream.putBlob(bytes);
    upstream.script(d).corrupt = true;
    start(100_000, 200_000);
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    var req = java.net.http.HttpRequest.newBuilder(
            java.net.URI.create("http://127.0.0.1:" + server.port() + "/v2/app/blobs/" + d))
        .header("Range", "bytes=0-99").build();
    // Cut before its last byte: the client sees an error, never a clean response.
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> http.send(req, HttpResponse.BodyHandlers.ofByteArray()))
        .isInstanceOf(java.io.IOException.class);
    await().until(() -> server.services().blobs().inFlight().size() == 0);
    assertNothingKept(d);
  }

  /** Upstream connections for {@code d} reset after {@code after} bytes, {@code times} times. */
  private ScriptedUpstream.Script resetting(Digest d, long after, int times) {
    ScriptedUpstream.Script script = upstream.script(d);
    script.resetAfter = after;
    script.resets.set(times);
    return script;
  }

  @Test
  void passthroughUpstreamResets_resumedWithRange_clientSeesAPauseAndEveryByte() throws Exception {
    byte[] bytes = TestImages.bytes(47, 300_000);
    Digest d = upstream.putBlob(bytes);
    ScriptedUpstream.Script script = resetting(d, 100_000, 2);
    start(100_000, 200_000);
    try (RawGet get = new RawGet(server.port(), "/v2/app/blobs/" + d, 0)) {
      assertThat(get.status).isEqualTo(200);
      assertThat(get.contentLength).isEqualTo(bytes.length);
      MessageDigest md = Digest.newSha256();
      assertThat(get.readBody(md)).isEqualTo(bytes.length);
      assertThat("sha256:" + HexFormat.of().formatHex(md.digest())).isEqualTo(d.toString());
    }
    assertThat(upstream.blobGets(d)).as("first GET and two resumes").isEqualTo(3);
    assertThat(upstream.lastHeader("GET /v2/app/blobs/" + d, "range")).isEqualTo("bytes=100000-");
    assertThat(counter(WharfMeters.FETCH_RESUMES, "upstream", "up")).isEqualTo(2);
    await().until(() -> counter(WharfMeters.FETCH_RESULTS, "upstream", "up", "result",
        "passthrough") == 1);
    await().until(() -> server.services().blobs().inFlight().size() == 0);
    assertNothingKept(d);
  }

  @Test
  void passthroughResumeIgnoredRange_bytesAlreadySentSkipped() throws Exception {
    byte[] bytes = TestImages.bytes(48, 300_000);
    Digest d = upstream.putBlob(bytes);
    ScriptedUpstream.Script script = resetting(d, 120_000, 1);
    script.ignoreRange = true;
    start(100_000, 200_000);
    HttpResponse<byte[]> r = client.get("/v2/app/blobs/" + d);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(bytes);
    assertThat(upstream.blobGets(d)).isEqualTo(2);
    assertThat(counter(WharfMeters.STORE_PASSTHROUGH)).isEqualTo(1);
  }

  @Test
  void passthroughResetsPastTheRetryBudget_clientCutShortOfContentLength_nothingKept()
      throws Exception {
    byte[] bytes = TestImages.bytes(49, 300_000);
    Digest d = upstream.putBlob(bytes);
    ScriptedUpstream.Script script = resetting(d, 100_000, 10);
    start(100_000, 200_000, "    retries: 1\n");
    try (RawGet get = new RawGet(server.port(), "/v2/app/blobs/" + d, 0)) {
      assertThat(get.status).isEqualTo(200);
      assertThat(get.contentLength).isEqualTo(bytes.length);
      long n = get.readBody(Digest.newSha256());
      // readBody returns early only when the connection ends (a stall would time out instead)
      assertThat(n).as("cut, never a clean short end").isLessThan(bytes.length);
    }
    assertThat(upstream.blobGets(d)).as("one GET and one resume").isEqualTo(2);
    await().until(() -> counter(WharfMeters.FETCH_RESULTS, "upstream", "up", "result",
        "upstream_error") == 1);
    await().until(() -> server.services().blobs().inFlight().size() == 0);
    assertNothingKept(d);
    script.resets.set(0);
    assertThat(client.get("/v2/app/blobs/" + d).body()).isEqualTo(bytes);
  }

  private void assertNothingKept(Digest d) throws IOException {
    assertThat(store().tierOf(d)).isNull();
    for (String t : List.of("fast", "large")) {
      try (Stream<Path> s = Files.list(dir.resolve(t).resolve("tmp"))) {
        assertThat(s).as("temp files left in %s", t).isEmpty();
      }
      assertThat(bytesUnder(dir.resolve(t).resolve("blobs"))).isZero();
    }
    assertThat(store().tiers()).allSatisfy(t -> assertThat(t.reservedBytes()).isZero());
  }

  /** A GET over a raw socket (to see exactly how many body bytes arrive before a cut). */
  private static final class RawGet implements AutoCloseable {
    final Socket socket = new Socket();
    final InputStream in;
    final int status;
    final long contentLength;

    RawGet(int port, String path, int receiveBuffer) throws IOException {
      if (receiveBuffer > 0) {
        socket.setReceiveBufferSize(receiveBuffer);
      }
      socket.connect(new InetSocketAddress("127.0.0.1", port));
      socket.setSoTimeout(30_000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      in = new BufferedInputStream(socket.getInputStream());
      String statusLine = line();
      status = Integer.parseInt(statusLine.substring(9, 12));
      long cl = -1;
      for (String h = line(); !h.isEmpty(); h = line()) {
        if (h.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
          cl = Long.parseLong(h.substring(15).trim());
        }
      }
      contentLength = cl;
    }

    private String line() throws IOException {
      StringBuilder sb = new StringBuilder();
      for (int c = in.read(); c != '\n'; c = in.read()) {
        if (c < 0) {
          throw new IOException("connection closed inside the headers");
        }
        if (c != '\r') {
          sb.append((char) c);
        }
      }
      return sb.toString();
    }

    /** Reads the body until Content-Length or the connection ends; the bytes read. */
    long readBody(MessageDigest md) throws IOException {
      byte[] buf = new byte[64 << 10];
      long n = 0;
      while (n < contentLength) {
        int k;
        try {
          k = in.read(buf, 0, (int) Math.min(buf.length, contentLength - n));
        } catch (SocketException e) {
          break; // reset by the server: cut
        }
        if (k < 0) {
          break;
        }
        md.update(buf, 0, k);
        n += k;
      }
      return n;
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
