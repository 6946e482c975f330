package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.wharf.core.config.WharfConfig;
import io.wharf.core.oci.Digest;
import io.wharf.core.testing.ScriptedUpstream;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.TestClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster Wharfs whose upstreams are one site Wharf ({@code kind: wharf}), which has two
 * registries behind it: the client's registry travels along as {@code ns}, and coalescing holds
 * end to end — one upstream GET per blob however many clients pull through however many cluster
 * Wharfs.
 */
@Timeout(120)
class HierarchyIT {
  private static final String REG_A = "reg-a.example";
  private static final String REG_B = "reg-b.example";
  private static final int CLUSTERS = 3;
  private static final int CLIENTS_PER_CLUSTER = 6;

  @TempDir Path dir;
  private ScriptedUpstream regA;
  private ScriptedUpstream regB;
  private WharfServer site;
  private final List<WharfServer> clusters = new ArrayList<>();
  private final List<TestClient> clients = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    regA = new ScriptedUpstream();
    regB = new ScriptedUpstream();
    site = WharfServer.start(WharfConfig.parse("listen: 127.0.0.1:0\n"
        + "upstreams:\n"
        + "  - name: " + REG_A + "\n    url: " + regA.url() + "\n"
        + "  - name: " + REG_B + "\n    url: " + regB.url() + "\n"
        + "storage:\n  tiers:\n    - path: " + dir.resolve("site") + "\n"
        + "server:\n  shutdownGrace: 1s\n"));
    String parent = "http://127.0.0.1:" + site.port();
    for (int i = 0; i < CLUSTERS; i++) {
      clusters.add(WharfServer.start(WharfConfig.parse("listen: 127.0.0.1:0\n"
          + "upstreams:\n"
          + "  - name: " + REG_A + "\n    url: " + parent + "\n    kind: wharf\n"
          + "  - name: " + REG_B + "\n    url: " + parent + "\n    kind: wharf\n"
          + "storage:\n  tiers:\n    - path: " + dir.resolve("cluster" + i) + "\n"
          + "server:\n  shutdownGrace: 1s\n")));
      clients.add(new TestClient(clusters.get(i).port()));
    }
  }

  @AfterEach
  void stop() throws Exception {
    for (WharfServer s : clusters) {
      s.close();
    }
    site.close();
    regA.close();
    regB.close();
  }

  private static List<Digest> blobs(TestImages.Image image) {
    List<Digest> out = new ArrayList<>();
    out.add(image.configDigest());
    for (int i = 0; i < image.layers().size(); i++) {
      out.add(image.layerDigest(i));
    }
    return out;
  }

  private record Pull(Digest digest, CompletableFuture<TestClient.Result> result) {}

  private boolean inFlight(WharfServer s, List<Digest> ds) {
    return ds.stream().allMatch(d -> s.services().blobs().inFlight().get(d) != null);
  }

  private double siteJoins() {
    var c = site.services().meters().registry()
        .find(io.wharf.core.metrics.WharfMeters.FETCH_JOINS).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void pull_bothRegistriesThroughThreeClusterWharfs_oneUpstreamGetPerBlob() throws Exception {
    TestImages.Image a = TestImages.image(11, 400_000, 1_500_000, 30_000);
    TestImages.Image b = TestImages.image(12, 900_000, 60_000);
    TestImages.publish(regA, "team/app", "v1", a);
    TestImages.publish(regB, "org/tool", "2.0", b);
    CountDownLatch gate = new CountDownLatch(1);
    List<Digest> blobsA = blobs(a);
    List<Digest> blobsB = blobs(b);
    blobsA.forEach(d -> {
      regA.script(d).gate = gate;
      regA.script(d).gateAfter = 10;
    });
    blobsB.forEach(d -> {
      regB.script(d).gate = gate;
      regB.script(d).gateAfter = 10;
    });

    List<Pull> pulls = new ArrayList<>();
    for (TestClient c : clients) {
      for (int k = 0; k < CLIENTS_PER_CLUSTER; k++) {
        // containerd style (?ns=) for one registry, registries.conf prefix style for the other
        blobsA.forEach(d -> pulls.add(new Pull(d,
            c.getHashed("/v2/team/app/blobs/" + d + "?ns=" + REG_A))));
        blobsB.forEach(d -> pulls.add(new Pull(d,
            c.getHashed("/v2/" + REG_B + "/org/tool/blobs/" + d))));
      }
    }
    List<Digest> all = new ArrayList<>(blobsA);
    all.addAll(blobsB);
    await().until(() -> inFlight(site, all) && clusters.stream().allMatch(s -> inFlight(s, all)));
    // Each cluster Wharf coalesces its clients into one request per blob to the site, where the
    // three join one fetch: two joins per blob at the site, once every request has arrived.
    await().until(() -> siteJoins() >= 2.0 * all.size());
    gate.countDown();

    for (Pull p : pulls) {
      TestClient.Result r = p.result().get();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.digest()).isEqualTo(p.digest().toString());
    }
    blobsA.forEach(d -> assertThat(regA.blobGets(d)).as("reg A GETs of %s", d).isEqualTo(1));
    blobsB.forEach(d -> assertThat(regB.blobGets(d)).as("reg B GETs of %s", d).isEqualTo(1));
    // No blob went to the wrong registry.
    blobsA.forEach(d -> assertThat(regB.blobGets(d)).isZero());
    blobsB.forEach(d -> assertThat(regA.blobGets(d)).isZero());
    // No more than one request per blob per cluster Wharf reached the site.
    assertThat(siteJoins()).isEqualTo(2.0 * all.size());
    // The registries see plain requests; ns stops at the site.
    assertThat(regA.lastQuery("GET /v2/team/app/blobs/" + blobsA.get(0))).isNullOrEmpty();
  }

  @Test
  void manifest_bothRegistriesThroughClusters_routedByNsAtTheSite() throws Exception {
    TestImages.Image a = TestImages.image(21, 1000);
    TestImages.Image b = TestImages.image(22, 1000);
    TestImages.publish(regA, "team/app", "v1", a);
    TestImages.publish(regB, "team/app", "v1", b); // same name, other registry, other image
    String accept = "application/vnd.oci.image.manifest.v1+json";
    for (TestClient c : clients) {
      var ra = c.get("/v2/team/app/manifests/v1?ns=" + REG_A, "Accept", accept);
      var rb = c.get("/v2/" + REG_B + "/team/app/manifests/v1", "Accept", accept);
      assertThat(ra.statusCode()).isEqualTo(200);
      assertThat(rb.statusCode()).isEqualTo(200);
      assertThat(Digest.sha256Of(ra.body())).isEqualTo(a.manifestDigest());
      assertThat(Digest.sha256Of(rb.body())).isEqualTo(b.manifestDigest());
    }
    // Three cluster Wharfs asked the site; the site asked each registry once (its tag TTL).
    assertThat(regA.count("GET /v2/team/app/manifests/v1")).isEqualTo(1);
    assertThat(regB.count("GET /v2/team/app/manifests/v1")).isEqualTo(1);
    var miss = clients.get(0).get("/v2/team/app/manifests/v1?ns=reg-c.example", "Accept", accept);
    assertThat(miss.statusCode()).isEqualTo(404);
  }
}
