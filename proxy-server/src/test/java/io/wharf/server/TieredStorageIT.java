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
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Two disk tiers under budgets, on real sockets: demotion, intact bytes, no needless re-fetch. */
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
    String yaml = "listen: 127.0.0.1:0\n"
        + "upstreams:\n  - name: up\n    url: " + upstream.url() + "\n    idleTimeout: 5s\n"
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
  void blobNoTierCanHold_everyConcurrentRequestGets503WithRetryAfter_nothingKept()
      throws Exception {
    Digest big = upstream.putBlob(TestImages.bytes(41, 300_000));
    Digest small = upstream.putBlob(TestImages.bytes(42, 50_000));
    start(100_000, 200_000);
    List<CompletableFuture<HttpResponse<byte[]>>> all = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      all.add(CompletableFuture.supplyAsync(() -> {
        try {
          return client.get("/v2/app/blobs/" + big);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    for (CompletableFuture<HttpResponse<byte[]>> f : all) {
      HttpResponse<byte[]> r = f.get();
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.headers().firstValue("Retry-After"))
          .contains(Long.toString(TieredStore.NO_ROOM_RETRY_AFTER_SECONDS));
      assertThat(new String(r.body(), java.nio.charset.StandardCharsets.UTF_8))
          .contains("UNAVAILABLE");
    }
    assertThat(counter(WharfMeters.STORE_NO_ROOM)).isGreaterThanOrEqualTo(1);
    assertThat(store().tierOf(big)).isNull();
    for (String t : List.of("fast", "large")) {
      try (Stream<Path> s = Files.list(dir.resolve(t).resolve("tmp"))) {
        assertThat(s).as("temp files left in %s", t).isEmpty();
      }
      assertThat(bytesUnder(dir.resolve(t).resolve("blobs"))).isZero();
    }
    assertThat(store().tiers()).allSatisfy(t -> assertThat(t.reservedBytes()).isZero());
    // Smaller blobs are still cached as usual.
    assertThat(Digest.sha256Of(client.get("/v2/app/blobs/" + small).body())).isEqualTo(small);
    assertThat(store().tierOf(small)).isEqualTo("disk0");
  }
}
