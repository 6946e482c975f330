package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.MediaTypes;
import io.wharf.core.testing.ScriptedUpstream;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.TestClient;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import io.wharf.core.metrics.WharfMeters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Wharf as a whole, on real sockets, against a scripted upstream. */
@Timeout(120)
class WharfServerIT extends WharfOnScriptedUpstream {

  private void start(String upstreamExtra) {
    String idle = upstreamExtra.contains("idleTimeout") ? "" : "    idleTimeout: 2s\n";
    start("", idle + "    retries: 3\n" + upstreamExtra, "");
  }

  private void start() {
    start("");
  }

  private long storedBlobs() throws IOException {
    Path blobs = store.resolve("blobs");
    if (!Files.exists(blobs)) {
      return 0;
    }
    try (Stream<Path> s = Files.walk(blobs)) {
      return s.filter(Files::isRegularFile).count();
    }
  }

  private double meter(String name) {
    return counter(name);
  }

  @Test
  void base_answers200WithApiVersionHeader() throws Exception {
    start();
    HttpResponse<byte[]> r = client.get("/v2/");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Docker-Distribution-API-Version")).contains("registry/2.0");
  }

  @Test
  void pull_wholeImage_thenAgainFromCacheWithoutUpstreamBlobRequests() throws Exception {
    TestImages.Image img = TestImages.image(7, 300_000, 1_000_000, 5);
    TestImages.publish(upstream, "team/app", "v1", img);
    start();

    HttpResponse<byte[]> m = client.get("/v2/team/app/manifests/v1",
        "Accept", MediaTypes.OCI_MANIFEST + ", " + MediaTypes.OCI_INDEX);
    assertThat(m.statusCode()).isEqualTo(200);
    assertThat(m.body()).isEqualTo(img.manifest());
    assertThat(m.headers().firstValue("Content-Type")).contains(MediaTypes.OCI_MANIFEST);
    assertThat(m.headers().firstValue("Docker-Content-Digest")).contains(img.manifestDigest().toString());
    assertThat(m.headers().firstValue("Content-Length")).contains(Integer.toString(img.manifest().length));

    List<Digest> blobs = new ArrayList<>();
    blobs.add(img.configDigest());
    for (int i = 0; i < img.layers().size(); i++) {
      blobs.add(img.layerDigest(i));
    }
    for (int round = 0; round < 2; round++) {
      for (Digest d : blobs) {
        HttpResponse<byte[]> b = client.get("/v2/team/app/blobs/" + d);
        assertThat(b.statusCode()).isEqualTo(200);
        assertThat(Digest.sha256Of(b.body())).isEqualTo(d);
        assertThat(b.headers().firstValue("Docker-Content-Digest")).contains(d.toString());
      }
    }
    for (Digest d : blobs) {
      assertThat(upstream.blobGets(d)).as("upstream GETs of %s", d).isEqualTo(1);
      assertThat(Files.exists(store.resolve("blobs/sha256/" + d.hex().substring(0, 2) + "/" + d.hex()))).isTrue();
    }
    // The manifest by digest is now served from the store.
    HttpResponse<byte[]> byDigest = client.get("/v2/team/app/manifests/" + img.manifestDigest());
    assertThat(byDigest.body()).isEqualTo(img.manifest());
    assertThat(upstream.count("GET /v2/team/app/manifests/" + img.manifestDigest())).isZero();
  }

  @Test
  void head_manifestAndBlob_sameHeadersNoBody() throws Exception {
    TestImages.Image img = TestImages.image(8, 1000);
    TestImages.publish(upstream, "app", "v1", img);
    start();
    HttpResponse<byte[]> get = client.get("/v2/app/manifests/v1");
    HttpResponse<byte[]> head = client.head("/v2/app/manifests/v1");
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    for (String h : List.of("Content-Type", "Content-Length", "Docker-Content-Digest")) {
      assertThat(head.headers().firstValue(h)).as(h).isEqualTo(get.headers().firstValue(h));
    }
    HttpResponse<byte[]> blobHead = client.head("/v2/app/blobs/" + img.layerDigest(0));
    assertThat(blobHead.statusCode()).isEqualTo(200);
    assertThat(blobHead.headers().firstValue("Content-Length")).contains("1000");
    assertThat(blobHead.headers().firstValue("Docker-Content-Digest")).contains(img.layerDigest(0).toString());
    assertThat(upstream.blobGets(img.layerDigest(0))).as("HEAD of an uncached blob fetches nothing").isZero();
  }

  @Test
  void get_200ConcurrentColdMisses_fetchUpstreamOnce() throws Exception {
    byte[] blob = TestImages.bytes(42, 20 << 20);
    Digest d = upstream.putBlob(blob);
    ScriptedUpstream.Script s = upstream.script(d);
    s.gate = new CountDownLatch(1);
    s.gateAfter = 1 << 20;
    // The upstream holds its body until all 200 joined: that wait is not a stall.
    start("    idleTimeout: 120s\n");

    List<CompletableFuture<TestClient.Result>> all = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      all.add(client.getHashed("/v2/big/blob/blobs/" + d));
    }
    // Every request has joined the one fetch before the upstream sends past its first MiB.
    await().atMost(Duration.ofSeconds(30)).until(() -> meter("wharf.fetch.joined") >= 199);
    s.gate.countDown();
    for (CompletableFuture<TestClient.Result> f : all) {
      TestClient.Result r = f.get();
      assertThat(r.error()).isNull();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bytes()).isEqualTo(blob.length);
      assertThat(r.digest()).isEqualTo(d.toString());
    }
    assertThat(upstream.blobGets(d)).as("upstream GETs for 200 clients").isEqualTo(1);
    assertThat(upstream.bodyBytesSent()).isEqualTo(blob.length);
  }

  @Test
  void get_follower_receivesBytesBeforeFetchCompletes() throws Exception {
    byte[] blob = TestImages.bytes(43, 4 << 20);
    Digest d = upstream.putBlob(blob);
    ScriptedUpstream.Script s = upstream.script(d);
    s.gate = new CountDownLatch(1);
    s.gateAfter = 2 << 20;
    start();
    HttpResponse<InputStream> r = client.stream("/v2/app/blobs/" + d);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Length")).contains(Integer.toString(blob.length));
    byte[] first = r.body().readNBytes(2 << 20);
    assertThat(first).as("first 2 MiB arrive while upstream holds the rest")
        .isEqualTo(java.util.Arrays.copyOf(blob, 2 << 20));
    assertThat(s.gate.getCount()).isEqualTo(1);
    s.gate.countDown();
    byte[] rest = r.body().readAllBytes();
    assertThat(rest.length).isEqualTo(blob.length - (2 << 20));
  }

  @Test
  void get_digestMismatch_cutsEveryReaderBeforeLastByte_andStoresNothing() throws Exception {
    byte[] blob = TestImages.bytes(44, 3 << 20);
    Digest d = upstream.putBlob(blob);
    upstream.script(d).corrupt = true;
    start();
    List<CompletableFuture<TestClient.Result>> all = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      all.add(client.getHashed("/v2/app/blobs/" + d));
    }
    for (CompletableFuture<TestClient.Result> f : all) {
      TestClient.Result r = f.get();
      boolean cut = r.error() != null || r.status() != 200 || r.bytes() < blob.length;
      assertThat(cut).as("a wrong blob is never delivered complete: %s", r).isTrue();
      assertThat(r.digest()).isNotEqualTo(d.toString());
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> meter("wharf.fetch.completed") >= 1);
    assertThat(storedBlobs()).isZero();
    try (Stream<Path> tmp = Files.list(store.resolve("tmp"))) {
      assertThat(tmp).as("temp file removed").isEmpty();
    }
    // Nothing was cached: the next request goes upstream again, and gets the right bytes now.
    upstream.script(d).corrupt = false;
    TestClient.Result again = client.getHashed("/v2/app/blobs/" + d).get();
    assertThat(again.digest()).isEqualTo(d.toString());
    assertThat(upstream.blobGets(d)).isEqualTo(2);
  }

  @Test
  void rangeOnBlobInFlight_answeredOnlyOnceVerified_wrongBytesGiveAnError() throws Exception {
    byte[] blob = TestImages.bytes(48, 1 << 20);
    Digest d = upstream.putBlob(blob);
    upstream.script(d).corrupt = true;
    // Bytes 0-99 arrive long before the gate opens; a 206 of them then would be unverified.
    InFlightRange f = rangeWhileInFlight(d, "bytes=0-99");
    HttpResponse<byte[]> r = f.range().get(30, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(r.statusCode()).as("a range of a blob that failed verification").isEqualTo(502);
    assertThat(new String(r.body(), java.nio.charset.StandardCharsets.UTF_8)).contains("\"errors\"");
    assertThat(f.whole().get().digest()).isNotEqualTo(d.toString());
    assertThat(storedBlobs()).isZero();
  }

  @Test
  void rangeOnBlobInFlight_rightBytes_206OnceVerified_oneUpstreamGet() throws Exception {
    byte[] blob = TestImages.bytes(49, 1 << 20);
    Digest d = upstream.putBlob(blob);
    InFlightRange f = rangeWhileInFlight(d, "bytes=100-199");
    HttpResponse<byte[]> r = f.range().get(30, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(r.statusCode()).isEqualTo(206);
    assertThat(r.headers().firstValue("Content-Range")).contains("bytes 100-199/" + blob.length);
    assertThat(r.body()).isEqualTo(java.util.Arrays.copyOfRange(blob, 100, 200));
    assertThat(f.whole().get().digest()).isEqualTo(d.toString());
    assertThat(upstream.blobGets(d)).isEqualTo(1);
  }

  private record InFlightRange(CompletableFuture<TestClient.Result> whole,
                               CompletableFuture<HttpResponse<byte[]>> range) {}

  /**
   * Starts Wharf; a full GET starts the fetch, whose upstream body stops half-way at a gate; a
   * {@code Range} GET arrives while it is in flight; then the gate opens.
   */
  private InFlightRange rangeWhileInFlight(Digest d, String range) throws Exception {
    ScriptedUpstream.Script s = upstream.script(d);
    s.gate = new CountDownLatch(1);
    s.gateAfter = 512 << 10;
    start();
    CompletableFuture<TestClient.Result> whole = client.getHashed("/v2/app/blobs/" + d);
    await().atMost(Duration.ofSeconds(10)).until(() -> upstream.blobGets(d) == 1);
    CompletableFuture<HttpResponse<byte[]>> ranged = CompletableFuture.supplyAsync(() -> {
      try {
        return client.get("/v2/app/blobs/" + d, "Range", range);
      } catch (Exception e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    });
    // Both requests are in Wharf's hands before the fetch can finish (and both still open: a range
    // answered before verification would already have ended).
    await().atMost(Duration.ofSeconds(10)).until(() -> server.services().activeResponses() == 2);
    s.gate.countDown();
    return new InFlightRange(whole, ranged);
  }

  @Test
  void get_upstreamResetMidBlob_resumedWithRange_clientSeesWholeBlob() throws Exception {
    byte[] blob = TestImages.bytes(45, 3 << 20);
    Digest d = upstream.putBlob(blob);
    ScriptedUpstream.Script s = upstream.script(d);
    s.resetAfter = 1 << 20;
    s.resets.set(1);
    start();
    TestClient.Result r = client.getHashed("/v2/app/blobs/" + d).get();
    assertThat(r.error()).isNull();
    assertThat(r.digest()).isEqualTo(d.toString());
    assertThat(upstream.blobGets(d)).isEqualTo(2);
    assertThat(meter("wharf.fetch.resumes")).isEqualTo(1);
    assertThat(upstream.bodyBytesSent()).as("the resume asked only for the rest")
        .isLessThan(blob.length + (1 << 20));
  }

  @Test
  void get_resumeIgnoredRange_skipsBytesAlreadyOnDisk() throws Exception {
    byte[] blob = TestImages.bytes(46, 3 << 20);
    Digest d = upstream.putBlob(blob);
    ScriptedUpstream.Script s = upstream.script(d);
    s.resetAfter = 1 << 20;
    s.resets.set(1);
    s.ignoreRange = true;
    start();
    TestClient.Result r = client.getHashed("/v2/app/blobs/" + d).get();
    assertThat(r.digest()).isEqualTo(d.toString());
    assertThat(r.bytes()).isEqualTo(blob.length);
    assertThat(upstream.blobGets(d)).isEqualTo(2);
  }

  @Test
  void get_upstreamStallsMidBlob_resumedAfterIdleTimeout() throws Exception {
    byte[] blob = TestImages.bytes(47, 2 << 20);
    Digest d = upstream.putBlob(blob);
    ScriptedUpstream.Script s = upstream.script(d);
    s.stallAfter = 512 << 10;
    s.stalls.set(1);
    start();
    TestClient.Result r = client.getHashed("/v2/app/blobs/" + d).get();
    assertThat(r.digest()).isEqualTo(d.toString());
    assertThat(upstream.blobGets(d)).isEqualTo(2);
  }

  @Test
  void get_resetsPastRetryBudget_cutsClient_storesNothing() throws Exception {
    byte[] blob = TestImages.bytes(48, 2 << 20);
    Digest d = upstream.putBlob(blob);
    ScriptedUpstream.Script s = upstream.script(d);
    s.resetAfter = 100_000;
    s.resets.set(100);
    start();
    TestClient.Result r = client.getHashed("/v2/app/blobs/" + d).get();
    assertThat(r.error() != null || r.bytes() < blob.length).isTrue();
    assertThat(upstream.blobGets(d)).isEqualTo(4);
    assertThat(storedBlobs()).isZero();
  }

  /**
   * Clients get the last byte once the digest matches; storing comes after and is no concern of
   * theirs. When storing fails (here: the blob's directory cannot be created), the client still
   * has its verified blob, nothing is kept, and the next request fetches it again.
   */
  @Test
  void storingFailsAfterVerification_clientKeepsItsVerifiedBlob_nothingKept_nextRequestRefetches()
      throws Exception {
    byte[] blob = TestImages.bytes(51, 300_000);
    Digest d = upstream.putBlob(blob);
    start();
    Path fanout = store.resolve("blobs/sha256/" + d.hex().substring(0, 2));
    Files.createDirectories(fanout.getParent());
    Files.write(fanout, new byte[0]); // a file where the blob's directory must go
    HttpResponse<byte[]> r = client.get("/v2/app/blobs/" + d);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(blob);
    await().atMost(Duration.ofSeconds(10)).until(() -> server.services().meters().registry()
        .find(WharfMeters.FETCH_RESULTS).tags("result", "io_error").counter() != null);
    assertThat(storedBlobs()).as("only the file in the way").isEqualTo(1);
    assertThat(server.services().blobs().store().tierOf(d)).isNull();

    Files.delete(fanout);
    assertThat(client.get("/v2/app/blobs/" + d).body()).isEqualTo(blob);
    assertThat(upstream.blobGets(d)).isEqualTo(2);
    await().atMost(Duration.ofSeconds(10)).until(() -> storedBlobs() == 1);
  }

  @Test
  void get_chunkedUpstream_servedAndVerified() throws Exception {
    byte[] blob = TestImages.bytes(49, 1 << 20);
    Digest d = upstream.putBlob(blob);
    upstream.script(d).chunked = true;
    start();
    HttpResponse<byte[]> r = client.get("/v2/app/blobs/" + d);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(blob);
    await().atMost(Duration.ofSeconds(10)).until(() -> storedBlobs() == 1);
  }

  @Test
  void range_onCachedBlob_206_andUnsatisfiable416() throws Exception {
    byte[] blob = TestImages.bytes(50, 100_000);
    Digest d = upstream.putBlob(blob);
    start();
    client.get("/v2/app/blobs/" + d);
    HttpResponse<byte[]> r = client.get("/v2/app/blobs/" + d, "Range", "bytes=1000-1999");
    assertThat(r.statusCode()).isEqualTo(206);
    assertThat(r.headers().firstValue("Content-Range")).contains("bytes 1000-1999/100000");
    assertThat(r.body()).isEqualTo(java.util.Arrays.copyOfRange(blob, 1000, 2000));
    HttpResponse<byte[]> suffix = client.get("/v2/app/blobs/" + d, "Range", "bytes=-10");
    assertThat(suffix.body()).isEqualTo(java.util.Arrays.copyOfRange(blob, 99_990, 100_000));
    HttpResponse<byte[]> bad = client.get("/v2/app/blobs/" + d, "Range", "bytes=100000-");
    assertThat(bad.statusCode()).isEqualTo(416);
    assertThat(bad.headers().firstValue("Content-Range")).contains("bytes */100000");
  }

  @Test
  void range_onBlobStillArriving_waitsForItsBytes() throws Exception {
    byte[] blob = TestImages.bytes(51, 2 << 20);
    Digest d = upstream.putBlob(blob);
    ScriptedUpstream.Script s = upstream.script(d);
    s.gate = new CountDownLatch(1);
    s.gateAfter = 1 << 20;
    start();
    CompletableFuture<TestClient.Result> whole = client.getHashed("/v2/app/blobs/" + d);
    await().until(() -> server.services().blobs().inFlight().size() == 1);
    CompletableFuture<HttpResponse<byte[]>> tail = CompletableFuture.supplyAsync(() -> {
      try {
        return client.get("/v2/app/blobs/" + d, "Range", "bytes=" + ((2 << 20) - 100) + "-");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    s.gate.countDown();
    HttpResponse<byte[]> r = tail.get();
    assertThat(r.statusCode()).isEqualTo(206);
    assertThat(r.body()).isEqualTo(java.util.Arrays.copyOfRange(blob, (2 << 20) - 100, 2 << 20));
    assertThat(whole.get().digest()).isEqualTo(d.toString());
    assertThat(upstream.blobGets(d)).isEqualTo(1);
  }

  @Test
  void unknownContent_404WithOciCodes() throws Exception {
    start();
    HttpResponse<byte[]> m = client.get("/v2/app/manifests/nope");
    assertThat(m.statusCode()).isEqualTo(404);
    assertThat(new String(m.body(), StandardCharsets.UTF_8)).contains("\"MANIFEST_UNKNOWN\"");
    HttpResponse<byte[]> b = client.get("/v2/app/blobs/sha256:" + "0".repeat(64));
    assertThat(b.statusCode()).isEqualTo(404);
    assertThat(new String(b.body(), StandardCharsets.UTF_8)).contains("\"BLOB_UNKNOWN\"");
    assertThat(b.headers().firstValue("Docker-Distribution-API-Version")).contains("registry/2.0");
  }

  @Test
  void badInput_400AndPush405_withoutTouchingUpstream() throws Exception {
    start();
    for (String path : List.of("/v2/a/%2e%2e/b/manifests/latest", "/v2/Bad/manifests/x",
        "/v2/app/blobs/sha256:1234", "/v2/app/manifests/%00")) {
      HttpResponse<byte[]> r = client.get(path);
      assertThat(r.statusCode()).as(path).isEqualTo(400);
      assertThat(new String(r.body(), StandardCharsets.UTF_8)).as(path).contains("\"errors\"");
    }
    HttpResponse<byte[]> put = client.send("PUT", "/v2/app/manifests/v1");
    assertThat(put.statusCode()).isEqualTo(405);
    assertThat(new String(put.body(), StandardCharsets.UTF_8)).contains("\"UNSUPPORTED\"");
    HttpResponse<byte[]> post = client.send("POST", "/v2/app/blobs/uploads/");
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(upstream.counts()).isEmpty();
  }

  @Test
  void upstreamDown_uncached_502or503_notFoundNever() throws Exception {
    start();
    upstream.close();
    HttpResponse<byte[]> r = client.get("/v2/app/manifests/v1");
    assertThat(r.statusCode()).isIn(502, 503, 504);
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("\"errors\"");
  }

  @Test
  void tag_withinTtl_noUpstreamRequest_afterTtl_revalidatedWithHead() throws Exception {
    TestImages.Image img = TestImages.image(9, 10);
    TestImages.publish(upstream, "app", "v1", img);
    start("    tagTtl: 0s\n");
    assertThat(client.get("/v2/app/manifests/v1").statusCode()).isEqualTo(200);
    assertThat(client.get("/v2/app/manifests/v1").statusCode()).isEqualTo(200);
    assertThat(upstream.count("GET /v2/app/manifests/v1")).isEqualTo(1);
    assertThat(upstream.count("HEAD /v2/app/manifests/v1")).isEqualTo(1);
    // The tag moves upstream: the HEAD shows a new digest and the new manifest is fetched.
    TestImages.Image img2 = TestImages.image(10, 20);
    TestImages.publish(upstream, "app", "v1", img2);
    HttpResponse<byte[]> moved = client.get("/v2/app/manifests/v1");
    assertThat(moved.body()).isEqualTo(img2.manifest());
    assertThat(upstream.count("GET /v2/app/manifests/v1")).isEqualTo(2);
  }

  @Test
  void tag_longTtl_servedWithoutUpstream() throws Exception {
    TestImages.Image img = TestImages.image(11, 10);
    TestImages.publish(upstream, "app", "v1", img);
    start("    tagTtl: 5m\n");
    for (int i = 0; i < 3; i++) {
      assertThat(client.get("/v2/app/manifests/v1").body()).isEqualTo(img.manifest());
    }
    assertThat(upstream.count("GET /v2/app/manifests/v1")).isEqualTo(1);
    assertThat(upstream.count("HEAD /v2/app/manifests/v1")).isZero();
  }

  @Test
  void tag_upstreamDown_servedStale() throws Exception {
    TestImages.Image img = TestImages.image(12, 10);
    TestImages.publish(upstream, "app", "v1", img);
    start("    tagTtl: 0s\n");
    assertThat(client.get("/v2/app/manifests/v1").statusCode()).isEqualTo(200);
    upstream.close();
    HttpResponse<byte[]> r = client.get("/v2/app/manifests/v1");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(img.manifest());
  }

  @Test
  void metrics_exposedInPrometheusFormat() throws Exception {
    TestImages.Image img = TestImages.image(13, 10);
    TestImages.publish(upstream, "app", "v1", img);
    start();
    client.get("/v2/app/manifests/v1");
    HttpResponse<byte[]> r = client.get("/metrics");
    String text = new String(r.body(), StandardCharsets.UTF_8);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(text).contains("wharf_upstream_requests_total{");
    assertThat(text).contains("wharf_http_requests_seconds_count{");
    assertThat(text).contains("wharf_http_ttfb_seconds_bucket{");
    assertThat(text).contains("wharf_netty_direct_memory_used_bytes");
    assertThat(text).contains("wharf_netty_eventloop_pending_tasks");
    assertThat(client.get("/healthz").statusCode()).isEqualTo(200);
    assertThat(client.get("/readyz").statusCode()).isEqualTo(200);
  }

  @Test
  void close_refusesNewConnections_letsResponseInFlightFinish() throws Exception {
    byte[] blob = TestImages.bytes(60, 2 << 20);
    Digest d = upstream.putBlob(blob);
    ScriptedUpstream.Script s = upstream.script(d);
    s.gate = new CountDownLatch(1);
    s.gateAfter = 1 << 20;
    start();
    int port = server.port();
    CompletableFuture<TestClient.Result> inFlight = client.getHashed("/v2/app/blobs/" + d);
    await().until(() -> server.services().activeResponses() == 1);
    CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
    await().until(() -> !server.services().isReady());
    await().untilAsserted(() -> {
      try (java.net.Socket sock = new java.net.Socket()) {
        org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> sock.connect(new java.net.InetSocketAddress("127.0.0.1", port), 1000))
            .isInstanceOf(java.io.IOException.class);
      }
    });
    assertThat(closing).isNotDone();
    s.gate.countDown();
    TestClient.Result r = inFlight.get();
    assertThat(r.digest()).isEqualTo(d.toString());
    closing.get();
    server = null;
  }
}
