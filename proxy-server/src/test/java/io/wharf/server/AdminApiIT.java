package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wharf.core.config.WharfConfig;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.MediaTypes;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.TestClient;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The admin API on real sockets: prefetch, pins, cache statistics, purges, gc, the token. */
@Timeout(120)
class AdminApiIT extends WharfOnScriptedUpstream {
  static final String TOKEN = "adm1n-t0ken";
  static final ObjectMapper JSON = new ObjectMapper();
  static final String INDEX_ACCEPT = String.join(", ", MediaTypes.ALL_MANIFESTS);
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  /** Starts Wharf with an admin listener (token {@link #TOKEN}) and the given tier yaml. */
  void startWithAdmin(String tierYaml) {
    String yaml = "listen: 127.0.0.1:0\n"
        + "admin:\n  listen: 127.0.0.1:0\n  token: " + TOKEN + "\n"
        + "upstreams:\n  - name: up\n    url: " + upstream.url() + "\n"
        + "storage:\n  tiers:\n    - path: " + store + "\n" + tierYaml
        + "server:\n  shutdownGrace: 2s\n";
    server = WharfServer.start(WharfConfig.parse(yaml));
    client = new TestClient(server.port());
  }

  record Reply(int status, JsonNode json, HttpResponse<byte[]> raw) {}

  Reply admin(String method, String path, String body, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + server.adminPort() + path))
        .timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    JsonNode j = r.body().length == 0 ? null : JSON.readTree(r.body());
    return new Reply(r.statusCode(), j, r);
  }

  Reply admin(String method, String path, String body) throws Exception {
    return admin(method, path, body, TOKEN);
  }

  /** Starts a prefetch and waits for it to finish; returns its final status. */
  JsonNode prefetch(String body) throws Exception {
    Reply started = admin("POST", "/admin/prefetch", body);
    assertThat(started.status()).as("%s", started.json()).isEqualTo(202);
    return awaitJob(started.json().path("id").asText());
  }

  /** Waits until job {@code id} is no longer running; its final status. */
  JsonNode awaitJob(String id) {
    JsonNode[] last = new JsonNode[1];
    await().atMost(Duration.ofSeconds(60)).until(() -> {
      last[0] = admin("GET", "/admin/prefetch/" + id, null).json();
      return !last[0].path("state").asText().equals("running");
    });
    return last[0];
  }

  static long totalRequests(Map<String, Integer> counts) {
    return counts.values().stream().mapToLong(Integer::longValue).sum();
  }

  List<TestImages.Image> publishMultiArch(String repo, String tag) {
    List<TestImages.Image> images = List.of(
        TestImages.image(71, 300_000, 120_000), TestImages.image(72, 250_000, 90_000));
    TestImages.publishIndex(upstream, repo, tag, images, "linux/amd64", "linux/arm64");
    return images;
  }

  static List<Digest> blobsOf(TestImages.Image image) {
    List<Digest> out = new ArrayList<>();
    out.add(image.configDigest());
    for (int i = 0; i < image.layers().size(); i++) {
      out.add(image.layerDigest(i));
    }
    return out;
  }

  static long bytesOf(TestImages.Image image) {
    return image.config().length + image.layers().stream().mapToLong(l -> l.length).sum();
  }

  @Test
  void prefetch_multiArchImage_fillsCache_thenPullMakesNoUpstreamRequest() throws Exception {
    startWithAdmin("");
    List<TestImages.Image> images = publishMultiArch("team/multi", "1");

    JsonNode done = prefetch("{\"images\":[\"team/multi:1\"]}");

    assertThat(done.path("state").asText()).as("%s", done).isEqualTo("done");
    long total = bytesOf(images.get(0)) + bytesOf(images.get(1));
    assertThat(done.path("blobsTotal").asInt()).isEqualTo(6);
    assertThat(done.path("blobsDone").asInt()).isEqualTo(6);
    assertThat(done.path("bytesTotal").asLong()).isEqualTo(total);
    assertThat(done.path("bytesDone").asLong()).isEqualTo(total);
    assertThat(done.path("errors").size()).isZero();
    assertThat(done.path("resolved").get(0).path("manifests").asInt()).isEqualTo(3);

    Map<String, Integer> before = upstream.counts();
    // A client pull of both platforms: index by tag, manifests by digest, every blob.
    HttpResponse<byte[]> index = client.get("/v2/team/multi/manifests/1", "Accept", INDEX_ACCEPT);
    assertThat(index.statusCode()).isEqualTo(200);
    for (TestImages.Image image : images) {
      assertThat(client.get("/v2/team/multi/manifests/" + image.manifestDigest(), "Accept",
          INDEX_ACCEPT).statusCode()).isEqualTo(200);
      for (Digest d : blobsOf(image)) {
        TestClient.Result r = client.getHashed("/v2/team/multi/blobs/" + d).get();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.digest()).isEqualTo(d.toString());
      }
    }
    assertThat(upstream.counts()).as("no upstream request after the prefetch").isEqualTo(before);

    Reply cache = admin("GET", "/admin/cache", null);
    assertThat(cache.status()).isEqualTo(200);
    JsonNode disk0 = cache.json().path("tiers").get(0);
    assertThat(disk0.path("name").asText()).isEqualTo("disk0");
    assertThat(disk0.path("entries").asInt()).isEqualTo(6);
    assertThat(disk0.path("bytes").asLong()).isEqualTo(total);
    assertThat(cache.json().path("topBlobs").size()).isEqualTo(6);
    assertThat(cache.json().path("topBlobs").get(0).path("hits").asInt()).isPositive();
    assertThat(cache.json().path("inFlight").path("count").asInt()).isZero();
  }

  @Test
  void prefetch_platformFilter_fetchesOnlyThatPlatformsBlobs() throws Exception {
    startWithAdmin("");
    List<TestImages.Image> images = publishMultiArch("team/multi", "2");

    JsonNode done = prefetch("{\"images\":[\"team/multi:2\"],\"platforms\":[\"linux/arm64\"]}");

    assertThat(done.path("state").asText()).as("%s", done).isEqualTo("done");
    assertThat(done.path("blobsTotal").asInt()).isEqualTo(3);
    assertThat(done.path("bytesDone").asLong()).isEqualTo(bytesOf(images.get(1)));
    for (Digest d : blobsOf(images.get(0))) {
      assertThat(upstream.blobGets(d)).as("amd64 blob %s", d).isZero();
      assertThat(server.services().blobs().store().tierOf(d)).isNull();
    }
    for (Digest d : blobsOf(images.get(1))) {
      assertThat(upstream.blobGets(d)).as("arm64 blob %s", d).isEqualTo(1);
      assertThat(server.services().blobs().store().tierOf(d)).isEqualTo("disk0");
    }
    JsonNode none = prefetch("{\"images\":[\"team/multi:2\"],\"platforms\":[\"linux/s390x\"]}");
    assertThat(none.path("state").asText()).isEqualTo("failed");
    assertThat(none.path("errors").get(0).asText()).contains("no manifest for platform");
  }

  @Test
  void prefetch_unknownImage_failsWithError_concurrentPullSharesTheFetch() throws Exception {
    startWithAdmin("");
    TestImages.Image image = TestImages.image(81, 2_000_000);
    TestImages.publish(upstream, "team/app", "1", image);
    var gate = new java.util.concurrent.CountDownLatch(1);
    upstream.script(image.layerDigest(0)).gate = gate;
    upstream.script(image.layerDigest(0)).gateAfter = 100_000;

    Reply started = admin("POST", "/admin/prefetch",
        "{\"images\":[\"team/app:1\",\"team/nope:1\"]}");
    String id = started.json().path("id").asText();
    await().until(() -> server.services().blobs().inFlight().get(image.layerDigest(0)) != null);
    var pull = client.getHashed("/v2/team/app/blobs/" + image.layerDigest(0));
    await().until(() -> server.services().blobs().inFlight().get(image.layerDigest(0))
        .readers() >= 2);
    JsonNode running = admin("GET", "/admin/prefetch/" + id, null).json();
    assertThat(running.path("state").asText()).isEqualTo("running");
    gate.countDown();

    assertThat(pull.get().digest()).isEqualTo(image.layerDigest(0).toString());
    JsonNode last = awaitJob(id);
    assertThat(last.path("state").asText()).isEqualTo("failed");
    assertThat(last.path("errors").toString()).contains("team/nope:1");
    assertThat(upstream.blobGets(image.layerDigest(0))).as("one upstream fetch for both")
        .isEqualTo(1);
    assertThat(admin("GET", "/admin/prefetch/0000", null).status()).isEqualTo(404);
  }

  /**
   * Twenty jobs and a pin of a fan-out chain (4 levels of 100 entries all naming the level below:
   * 10^8 paths, 5 distinct manifests) finish quickly, each distinct manifest fetched upstream
   * once, and an ordinary manifest request on the registry port is answered meanwhile.
   */
  @Test
  @Timeout(60)
  void prefetch_fanOutIndexChain_eachManifestOnce_registryStillAnswers() throws Exception {
    startWithAdmin("");
    TestImages.Image image = TestImages.image(81, 40_000, 30_000);
    List<Digest> levels = TestImages.publishFanOut(upstream, "fan/out", image, 100, 4);
    TestImages.Image other = TestImages.image(82, 10_000);
    TestImages.publish(upstream, "team/other", "1", other);

    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      Reply started = admin("POST", "/admin/prefetch", "{\"images\":[\"fan/out:l3\"]}");
      assertThat(started.status()).as("%s", started.json()).isEqualTo(202);
      ids.add(started.json().path("id").asText());
    }
    HttpResponse<byte[]> manifest = client.get("/v2/team/other/manifests/1", "Accept",
        INDEX_ACCEPT);
    assertThat(manifest.statusCode()).isEqualTo(200);
    assertThat(manifest.body()).isEqualTo(other.manifest());
    Reply pin = admin("POST", "/admin/pins", "{\"images\":[\"fan/out:l2\"]}");
    assertThat(pin.status()).as("%s", pin.json()).isEqualTo(201);
    assertThat(pin.json().path("pins").get(0).path("digests").size()).isEqualTo(4 + 3);

    for (String id : ids) {
      JsonNode done = awaitJob(id);
      assertThat(done.path("state").asText()).as("%s", done).isEqualTo("done");
      assertThat(done.path("blobsTotal").asInt()).isEqualTo(3);
      assertThat(done.path("resolved").get(0).path("manifests").asInt()).isEqualTo(5);
      assertThat(done.path("bytesDone").asLong()).isEqualTo(bytesOf(image));
    }
    for (Digest d : List.of(levels.get(2), levels.get(1), levels.get(0), image.manifestDigest())) {
      assertThat(upstream.count("GET /v2/fan/out/manifests/" + d)).as("%s", upstream.counts())
          .isEqualTo(1);
    }
    for (Digest d : blobsOf(image)) {
      assertThat(upstream.blobGets(d)).isEqualTo(1);
    }
  }

  /**
   * Cancelling a job drops its queued blobs at once; a blob it was fetching still reaches the
   * client that joined that download, and a finished job cannot be cancelled again.
   */
  @Test
  void cancelPrefetch_dropsQueuedBlobs_inFlightDownloadStillServesItsClient() throws Exception {
    startWithAdmin("");
    TestImages.Image image = TestImages.image(83, 200_000, 200_000, 200_000, 200_000, 200_000,
        200_000);
    TestImages.publish(upstream, "team/big", "1", image);
    var gate = new java.util.concurrent.CountDownLatch(1);
    List<Digest> layers = new ArrayList<>();
    for (int i = 0; i < image.layers().size(); i++) {
      layers.add(image.layerDigest(i));
      upstream.script(image.layerDigest(i)).gate = gate;
      upstream.script(image.layerDigest(i)).gateAfter = 10_000;
    }
    var inFlight = server.services().blobs().inFlight();

    Reply started = admin("POST", "/admin/prefetch", "{\"images\":[\"team/big:1\"]}");
    String id = started.json().path("id").asText();
    // Config done, four layers held at the gate, two queued behind them.
    await().until(() -> layers.stream().filter(d -> inFlight.get(d) != null).count() == 4);
    Digest fetching = layers.stream().filter(d -> inFlight.get(d) != null).findFirst().get();
    var pull = client.getHashed("/v2/team/big/blobs/" + fetching);
    await().until(() -> inFlight.get(fetching).readers() >= 2);

    Reply cancelled = admin("DELETE", "/admin/prefetch/" + id, null);
    assertThat(cancelled.status()).as("%s", cancelled.json()).isEqualTo(200);
    assertThat(cancelled.json().path("state").asText()).isEqualTo("cancelled");
    assertThat(cancelled.json().path("blobsTotal").asInt()).isEqualTo(5);
    gate.countDown();

    assertThat(pull.get().digest()).isEqualTo(fetching.toString());
    await().until(() -> admin("GET", "/admin/prefetch/" + id, null).json()
        .path("blobsDone").asInt() == 5);
    assertThat(admin("GET", "/admin/prefetch/" + id, null).json().path("state").asText())
        .isEqualTo("cancelled");
    assertThat(layers.stream().filter(d -> upstream.blobGets(d) == 0).count())
        .as("queued blobs never fetched: %s", upstream.counts()).isEqualTo(2);
    Reply again = admin("DELETE", "/admin/prefetch/" + id, null);
    assertThat(again.status()).isEqualTo(409);
    assertThat(again.json().toString()).contains("already finished (cancelled)");
  }

  @Test
  void pins_surviveEvictionPressureFromTinyTier_unpinnedAreEvicted() throws Exception {
    startWithAdmin("      maxSize: 400KiB\n");
    TestImages.Image pinned = TestImages.image(91, 100_000, 100_000);
    TestImages.publish(upstream, "team/keep", "1", pinned);
    TestImages.Image other = TestImages.image(92, 100_000, 100_000, 100_000, 100_000, 100_000);
    TestImages.publish(upstream, "team/other", "1", other);

    JsonNode done = prefetch("{\"images\":[\"team/keep:1\"],\"pin\":true}");
    assertThat(done.path("state").asText()).isEqualTo("done");
    Reply pins = admin("GET", "/admin/pins", null);
    assertThat(pins.json().path("pins").get(0).path("id").asText()).isEqualTo("up/team/keep:1");

    // 500 KB of unpinned blobs through a 400 KiB tier that already holds 200 KB of pinned ones.
    for (int i = 0; i < 5; i++) {
      TestClient.Result r = client.getHashed("/v2/team/other/blobs/" + other.layerDigest(i)).get();
      assertThat(r.digest()).isEqualTo(other.layerDigest(i).toString());
    }
    var store = server.services().blobs().store();
    await().until(() -> store.pendingMoves() == 0);
    for (Digest d : blobsOf(pinned)) {
      assertThat(store.tierOf(d)).as("pinned %s", d).isEqualTo("disk0");
    }
    long evicted = java.util.stream.IntStream.range(0, 5)
        .filter(i -> store.tierOf(other.layerDigest(i)) == null).count();
    assertThat(evicted).as("unpinned blobs evicted").isGreaterThanOrEqualTo(3);
    assertThat(store.tiers().get(0).usedBytes()).isLessThanOrEqualTo(400 * 1024);

    // An unpin makes them evictable again.
    assertThat(admin("DELETE", "/admin/pins/up/team/keep:1", null).status()).isEqualTo(200);
    assertThat(admin("DELETE", "/admin/pins/up/team/keep:1", null).status()).isEqualTo(404);
    for (int i = 0; i < 5; i++) {
      client.getHashed("/v2/team/other/blobs/" + other.layerDigest(i)).get();
    }
    await().until(() -> store.pendingMoves() == 0);
    assertThat(blobsOf(pinned).stream().filter(d -> store.tierOf(d) == null).count())
        .as("unpinned now, so evictable").isPositive();
  }

  @Test
  void pins_surviveRestart_andAStartupEvictionSkipsThem() throws Exception {
    startWithAdmin("");
    TestImages.Image pinned = TestImages.image(101, 150_000);
    TestImages.publish(upstream, "team/keep", "1", pinned);
    TestImages.Image other = TestImages.image(102, 150_000, 150_000);
    TestImages.publish(upstream, "team/other", "1", other);
    Reply pin = admin("POST", "/admin/pins", "{\"images\":[\"team/keep:1\"]}");
    assertThat(pin.status()).as("%s", pin.json()).isEqualTo(201);
    assertThat(pin.json().path("pins").get(0).path("digests").size()).isEqualTo(3);
    assertThat(prefetch("{\"images\":[\"team/keep:1\",\"team/other:1\"]}").path("state").asText())
        .isEqualTo("done");
    // Older access for the pinned blobs: plain LRU would evict them first.
    server.close();
    for (Digest d : blobsOf(pinned)) {
      Path p = store.resolve("blobs/sha256/" + d.hex().substring(0, 2) + "/" + d.hex());
      Files.setLastModifiedTime(p, FileTime.fromMillis(1_000_000));
      Files.getFileAttributeView(p, java.nio.file.attribute.BasicFileAttributeView.class)
          .setTimes(FileTime.fromMillis(1_000_000), FileTime.fromMillis(1_000_000), null);
    }
    assertThat(Files.exists(store.resolve("pins.json"))).isTrue();

    startWithAdmin("      maxSize: 200KiB\n");
    var s = server.services().blobs().store();
    await().until(() -> s.pendingMoves() == 0);
    Reply pins = admin("GET", "/admin/pins", null);
    assertThat(pins.json().path("pins").get(0).path("id").asText()).isEqualTo("up/team/keep:1");
    for (Digest d : blobsOf(pinned)) {
      assertThat(s.tierOf(d)).as("pinned %s after restart", d).isEqualTo("disk0");
    }
    assertThat(s.tierOf(other.layerDigest(0)) == null || s.tierOf(other.layerDigest(1)) == null)
        .as("an unpinned layer was evicted to fit the smaller budget").isTrue();
  }

  @Test
  void purgeBlob_whileSlowClientReads_readerGetsWholeBlob_nextGetRefetches() throws Exception {
    startWithAdmin("");
    byte[] blob = TestImages.bytes(111, 24 << 20);
    Digest d = upstream.putBlob(blob);
    String path = "/v2/team/app/blobs/" + d;
    assertThat(client.getHashed(path).get().digest()).isEqualTo(d.toString());
    var s = server.services().blobs().store();
    await().until(() -> s.tierOf(d) != null);
    assertThat(upstream.blobGets(d)).isEqualTo(1);

    HttpResponse<InputStream> slow = client.stream(path);
    MessageDigest md = Digest.newSha256();
    byte[] buf = new byte[64 * 1024];
    long n = 0;
    InputStream in = slow.body();
    int k = in.readNBytes(buf, 0, buf.length);
    md.update(buf, 0, k);
    n += k;

    Reply purge = admin("DELETE", "/admin/cache/blobs/" + d, null);
    assertThat(purge.status()).as("%s", purge.json()).isEqualTo(200);
    assertThat(purge.json().path("removedFrom").toString()).contains("disk0");
    assertThat(s.tierOf(d)).isNull();
    assertThat(Files.exists(store.resolve("blobs/sha256/" + d.hex().substring(0, 2) + "/"
        + d.hex()))).isFalse();

    for (k = in.read(buf); k >= 0; k = in.read(buf)) {
      md.update(buf, 0, k);
      n += k;
    }
    assertThat(n).isEqualTo(blob.length);
    assertThat("sha256:" + HexFormat.of().formatHex(md.digest())).isEqualTo(d.toString());

    assertThat(client.getHashed(path).get().digest()).isEqualTo(d.toString());
    assertThat(upstream.blobGets(d)).as("fetched again after the purge").isEqualTo(2);
    assertThat(admin("DELETE", "/admin/cache/blobs/sha256:" + "0".repeat(64), null).status())
        .isEqualTo(404);
  }

  @org.junit.jupiter.api.RepeatedTest(2)
  void purgeBlob_underLoad_everyConcurrentReaderGetsIntactBytes() throws Exception {
    startWithAdmin("");
    byte[] blob = TestImages.bytes(131, 8 << 20);
    Digest d = upstream.putBlob(blob);
    String path = "/v2/team/app/blobs/" + d;
    var s = server.services().blobs().store();
    List<java.util.concurrent.CompletableFuture<TestClient.Result>> pulls = new ArrayList<>();
    for (int wave = 0; wave < 4; wave++) {
      for (int i = 0; i < 6; i++) {
        pulls.add(client.getHashed(path));
      }
      // Purge as soon as this wave's fetch is stored, while its readers may still be streaming.
      await().until(() -> s.tierOf(d) != null);
      assertThat(admin("DELETE", "/admin/cache/blobs/" + d, null).status()).isEqualTo(200);
    }
    for (var f : pulls) {
      TestClient.Result r = f.get();
      assertThat(r.error()).isNull();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.bytes()).isEqualTo(blob.length);
      assertThat(r.digest()).isEqualTo(d.toString());
    }
    // One fetch per wave; a straggler of a wave that arrives after its purge may add one.
    assertThat(upstream.blobGets(d)).as("re-fetched after each purge").isBetween(4, 8);
  }

  @Test
  void purgeTag_nextManifestRequestGoesUpstream() throws Exception {
    startWithAdmin("");
    TestImages.Image image = TestImages.image(121, 1000);
    TestImages.publish(upstream, "team/app", "1", image);
    String tagPath = "GET /v2/team/app/manifests/1";
    assertThat(client.get("/v2/team/app/manifests/1").statusCode()).isEqualTo(200);
    assertThat(client.get("/v2/team/app/manifests/1").statusCode()).isEqualTo(200);
    assertThat(upstream.count(tagPath)).isEqualTo(1);

    Reply purge = admin("DELETE", "/admin/cache/tags/up/team/app:1", null);
    assertThat(purge.status()).as("%s", purge.json()).isEqualTo(200);
    assertThat(purge.json().path("recordsRemoved").asInt()).isEqualTo(1);

    assertThat(client.get("/v2/team/app/manifests/1").statusCode()).isEqualTo(200);
    assertThat(upstream.count(tagPath)).as("re-resolved upstream").isEqualTo(2);

    // Without a tag: every tag of the repository.
    assertThat(admin("DELETE", "/admin/cache/tags/up/team/app", null).json()
        .path("recordsRemoved").asInt()).isEqualTo(1);
    assertThat(client.get("/v2/team/app/manifests/1").statusCode()).isEqualTo(200);
    assertThat(upstream.count(tagPath)).isEqualTo(3);
    assertThat(admin("DELETE", "/admin/cache/tags/nosuch/team/app:1", null).status())
        .isEqualTo(404);
  }

  @Test
  void gc_removesOrphanedTempFile_keepsFreshOnes() throws Exception {
    startWithAdmin("");
    Path orphan = store.resolve("tmp").resolve("ab".repeat(32) + ".0123456789ab");
    Files.write(orphan, new byte[1234]);
    Files.setLastModifiedTime(orphan, FileTime.fromMillis(System.currentTimeMillis() - 7_200_000));
    Path fresh = store.resolve("tmp").resolve("cd".repeat(32) + ".0123456789ab");
    Files.write(fresh, new byte[10]);

    Reply gc = admin("POST", "/admin/gc", null);

    assertThat(gc.status()).isEqualTo(200);
    assertThat(gc.json().path("tempFilesRemoved").asInt()).isEqualTo(1);
    assertThat(gc.json().path("tempBytesRemoved").asLong()).isEqualTo(1234);
    assertThat(gc.json().path("evictedOverBudget").path("disk0").asInt()).isZero();
    assertThat(Files.exists(orphan)).isFalse();
    assertThat(Files.exists(fresh)).as("may belong to a write in progress").isTrue();
  }

  @Test
  void adminToken_enforcedOnEveryAdminEndpoint_badInputGetsJsonErrors() throws Exception {
    startWithAdmin("");
    String[][] endpoints = {
      {"POST", "/admin/prefetch", "{\"images\":[\"a:1\"]}"}, {"GET", "/admin/prefetch/x", null},
      {"GET", "/admin/pins", null}, {"POST", "/admin/pins", "{\"images\":[\"a:1\"]}"},
      {"DELETE", "/admin/pins/up/a:1", null}, {"GET", "/admin/cache", null},
      {"DELETE", "/admin/cache/blobs/sha256:" + "0".repeat(64), null},
      {"DELETE", "/admin/cache/tags/up/a:1", null}, {"POST", "/admin/gc", null},
      {"GET", "/admin/nothing", null},
    };
    for (String[] e : endpoints) {
      Reply none = admin(e[0], e[1], e[2], null);
      assertThat(none.status()).as("%s %s without token", e[0], e[1]).isEqualTo(401);
      assertThat(none.raw().headers().firstValue("WWW-Authenticate")).hasValue(
          "Bearer realm=\"wharf admin\"");
      assertThat(admin(e[0], e[1], e[2], "wrong").status()).as("%s %s", e[0], e[1])
          .isEqualTo(401);
      // The registry port never serves the admin API.
      assertThat(client.send(e[0], e[1]).statusCode()).as("main port %s %s", e[0], e[1])
          .isIn(404, 405);
    }
    assertThat(upstream.counts()).as("nothing reached upstream").isEmpty();

    assertThat(admin("GET", "/admin/nothing", null).status()).isEqualTo(404);
    Reply wrongMethod = admin("GET", "/admin/gc", null);
    assertThat(wrongMethod.status()).isEqualTo(405);
    assertThat(wrongMethod.raw().headers().firstValue("Allow")).hasValue("POST");
    assertThat(wrongMethod.json().path("errors").get(0).path("code").asText())
        .isEqualTo("METHOD_NOT_ALLOWED");
    String[] bad = {"not json", "[]", "{}", "{\"images\":[]}", "{\"images\":[\"UPPER/x:1\"]}",
        "{\"images\":[\"a:1\"],\"platforms\":[\"linux\"]}", "{\"images\":[\"a:1\"],\"pin\":1}",
        "{\"images\":[\"a:1\"],\"extra\":1}", "{\"images\":[\"nohost.example/a:1\"]}",
        "{\"images\":[\"a@sha256:xyz\"]}"};
    for (String body : bad) {
      Reply r = admin("POST", "/admin/prefetch", body);
      assertThat(r.status()).as(body).isEqualTo(400);
      assertThat(r.json().path("errors").get(0).path("message").asText()).as(body).isNotBlank();
    }
    assertThat(admin("DELETE", "/admin/cache/blobs/sha256:abc", null).status()).isEqualTo(400);
    assertThat(admin("GET", "/admin/cache?top=1000", null).status()).isEqualTo(400);
    assertThat(admin("DELETE", "/admin/cache/tags/up", null).status()).isEqualTo(400);
    assertThat(admin("DELETE", "/admin/cache/blobs/%2e%2e", null).status()).isEqualTo(400);
    assertThat(upstream.counts()).isEmpty();
  }
}
