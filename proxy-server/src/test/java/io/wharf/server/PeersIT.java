package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.wharf.core.config.WharfConfig;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.peer.Peers;
import io.wharf.core.peer.Rendezvous;
import io.wharf.core.testing.ScriptedUpstream;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.TestClient;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
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
 * Three Wharf peers on 127.0.0.1, each with its own store, in front of one upstream: one logical
 * cache, so each blob crosses the uplink once however the pulls are spread, and a peer dying
 * mid-fetch costs bounded extra upstream traffic, never a failed pull.
 */
@Timeout(120)
class PeersIT {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(PeersIT.class);
  private static final String TOKEN = "peer-s3cret";
  private static final int CLIENTS_PER_PEER = 5;

  @TempDir Path dir;
  private ScriptedUpstream upstream;
  private final List<WharfServer> peers = new ArrayList<>();
  private final List<TestClient> clients = new ArrayList<>();
  private int[] ports;

  @BeforeEach
  void start() throws Exception {
    upstream = new ScriptedUpstream();
    ports = freePorts(3);
    for (int i = 0; i < 3; i++) {
      peers.add(WharfServer.start(WharfConfig.parse(config(i))));
      clients.add(new TestClient(ports[i]));
    }
  }

  @AfterEach
  void stop() throws Exception {
    for (WharfServer s : peers) {
      s.close();
    }
    upstream.close();
  }

  private String config(int i) {
    StringBuilder members = new StringBuilder();
    for (int p : ports) {
      members.append(members.length() == 0 ? "" : ", ").append("\"127.0.0.1:").append(p)
          .append('"');
    }
    return "listen: 127.0.0.1:" + ports[i] + "\n"
        + "upstreams:\n  - name: up\n    url: " + upstream.url() + "\n"
        + "storage:\n  tiers:\n    - path: " + dir.resolve("store" + i) + "\n"
        + "server:\n  shutdownGrace: 1s\n"
        + "peers:\n  members: [" + members + "]\n  token: " + TOKEN + "\n"
        + "  healthInterval: 200ms\n  connectTimeout: 1s\n  timeout: 10s\n";
  }

  private static int[] freePorts(int n) throws Exception {
    int[] out = new int[n];
    List<ServerSocket> held = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
      held.add(s);
      out[i] = s.getLocalPort();
    }
    for (ServerSocket s : held) {
      s.close();
    }
    return out;
  }

  /** The image's blobs, each gated after its first bytes until {@code gate} opens. */
  private List<Digest> publishGated(long seed, CountDownLatch gate) {
    TestImages.Image image = TestImages.image(seed, 300_000, 1_000_000, 2_000_000, 50_000, 700_000);
    TestImages.publish(upstream, "team/app", "v1", image);
    List<Digest> blobs = new ArrayList<>();
    blobs.add(image.configDigest());
    for (int i = 0; i < image.layers().size(); i++) {
      blobs.add(image.layerDigest(i));
    }
    for (Digest d : blobs) {
      upstream.script(d).gate = gate;
      upstream.script(d).gateAfter = 10;
    }
    return blobs;
  }

  private static String blobPath(Digest d) {
    return "/v2/team/app/blobs/" + d;
  }

  /** {@code CLIENTS_PER_PEER} concurrent GETs of every blob on every peer in {@code on}. */
  private List<Pull> pullAll(List<Digest> blobs, List<Integer> on) {
    List<Pull> pulls = new ArrayList<>();
    for (Digest d : blobs) {
      for (int p : on) {
        for (int k = 0; k < CLIENTS_PER_PEER; k++) {
          pulls.add(new Pull(p, d, clients.get(p).getHashed(blobPath(d))));
        }
      }
    }
    return pulls;
  }

  private record Pull(int peer, Digest digest, CompletableFuture<TestClient.Result> result) {}

  private boolean inFlightEverywhere(List<Digest> blobs, List<Integer> on) {
    for (int p : on) {
      for (Digest d : blobs) {
        if (peers.get(p).services().blobs().inFlight().get(d) == null) {
          return false;
        }
      }
    }
    return true;
  }

  private double peerRequests(int p, String result) {
    var c = peers.get(p).services().meters().registry().find(WharfMeters.PEER_REQUESTS)
        .tag("result", result).counter();
    return c == null ? 0 : c.count();
  }

  /**
   * Once all three peers see each other: {@link #pullAll} on every peer, returning when every
   * peer has a fetch in flight for every blob (from the owner, or the owner's upstream fetch)
   * while the gate holds the bytes back, so all requests overlap.
   */
  private List<Pull> pullAllOverlapping(List<Digest> blobs, List<Integer> all) {
    await().until(() -> peers.stream().allMatch(s ->
        s.services().meters().registry().find(WharfMeters.PEERS_UP).gauge().value() == 3));
    List<Pull> pulls = pullAll(blobs, all);
    await().until(() -> inFlightEverywhere(blobs, all));
    return pulls;
  }

  @Test
  void pull_concurrentColdPullsOverThreePeers_oneUpstreamGetPerBlob() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    List<Digest> blobs = publishGated(1, gate);
    List<Integer> all = List.of(0, 1, 2);
    List<Pull> pulls = pullAllOverlapping(blobs, all);
    gate.countDown();

    for (Pull p : pulls) {
      TestClient.Result r = p.result().get();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.digest()).isEqualTo(p.digest().toString());
    }
    for (Digest d : blobs) {
      assertThat(upstream.blobGets(d)).as("upstream GETs of %s", d).isEqualTo(1);
    }
    // Each blob: its owner fetched upstream, each of the two others fetched from the owner.
    double ok = 0;
    for (int p : all) {
      ok += peerRequests(p, "ok");
    }
    assertThat(ok).isEqualTo(blobs.size() * 2);
    // Every peer stored every blob by its own tier policy: a second round costs nothing.
    for (int p : all) {
      for (Digest d : blobs) {
        assertThat(clients.get(p).getHashed(blobPath(d)).get().digest()).isEqualTo(d.toString());
      }
    }
    for (Digest d : blobs) {
      assertThat(upstream.blobGets(d)).isEqualTo(1);
    }
    // Manifests stay local (each instance resolves the tag itself, within its TTL).
    for (int p : all) {
      assertThat(clients.get(p).get("/v2/team/app/manifests/v1",
          "Accept", "application/vnd.oci.image.manifest.v1+json").statusCode()).isEqualTo(200);
    }
    assertThat(upstream.count("GET /v2/team/app/manifests/v1")).isEqualTo(3);
  }

  @Test
  void pull_peerStoppedMidFetch_pullsSucceedAndUpstreamGetsStayBounded() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    List<Digest> blobs = publishGated(2, gate);
    List<Integer> all = List.of(0, 1, 2);
    // The victim owns at least one of the blobs (ownership depends on the free ports the peers
    // got), so its death cuts peer streams mid-body.
    var members = peers.get(0).services().peers().set().members();
    int victim = ownerOf(blobs.get(0), members);
    long victimOwns = blobs.stream().filter(d -> Rendezvous.owner(d, members).id()
        .equals("127.0.0.1:" + ports[victim])).count();
    assertThat(victimOwns).isPositive();

    List<Pull> pulls = pullAllOverlapping(blobs, all);
    // Stop the victim while every body is held mid-way: its grace period runs out and it cuts
    // the streams it serves to the other peers.
    peers.get(victim).close();
    gate.countDown();

    List<Pull> retry = new ArrayList<>();
    for (Pull p : pulls) {
      if (p.peer() == victim) {
        // Its own clients lost their connection (or got a cut body); they pull again from a
        // survivor below.
        p.result().handle((r, err) -> null).get();
        continue;
      }
      TestClient.Result r = p.result().get();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.digest()).as("digest from peer %d", p.peer()).isEqualTo(p.digest().toString());
    }
    List<Integer> survivors = all.stream().filter(i -> i != victim).toList();
    for (Digest d : blobs) {
      for (int s : survivors) {
        retry.add(new Pull(s, d, clients.get(s).getHashed(blobPath(d))));
      }
    }
    for (Pull p : retry) {
      assertThat(p.result().get().digest()).isEqualTo(p.digest().toString());
    }
    int total = 0;
    for (Digest d : blobs) {
      int gets = upstream.blobGets(d);
      assertThat(gets).as("upstream GETs of %s", d).isBetween(1, 3);
      total += gets;
    }
    log.warn("peer stopped mid-fetch: {} upstream blob GETs for {} blobs, {} of them owned by"
        + " the stopped peer ({} client pulls)", total, blobs.size(), victimOwns,
        pulls.size() + retry.size());
    // At most one more GET for each blob the stopped peer owned (its own fetch died with it; the
    // survivors' fetches, cut mid-body, resumed from the next owner, which coalesced them).
    assertThat(total).isLessThanOrEqualTo(blobs.size() + (int) victimOwns);
    assertThat(survivors.stream().mapToDouble(i -> peerRequests(i, "body_error")
        + peerRequests(i, "unreachable")).sum()).isPositive();
  }

  @Test
  void peerRequest_tokenAndLoop_refusedOrServedLocally() throws Exception {
    TestImages.Image image = TestImages.image(3, 10_000);
    TestImages.publish(upstream, "team/app", "v1", image);
    Digest d = image.layerDigest(0);
    var members = peers.get(0).services().peers().set().members();
    int owner = -1;
    for (int i = 0; i < 3; i++) {
      if (Rendezvous.owner(d, members).id().equals("127.0.0.1:" + ports[i])) {
        owner = i;
      }
    }
    int other = (owner + 1) % 3;
    TestClient c = clients.get(other);
    assertThat(c.get(blobPath(d), Peers.HOP_HEADER, "1").statusCode()).isEqualTo(401);
    assertThat(c.get(blobPath(d), Peers.HOP_HEADER, "1", Peers.TOKEN_HEADER, "wrong")
        .statusCode()).isEqualTo(401);
    String selfId = peers.get(other).services().peers().instanceId();
    assertThat(c.get(blobPath(d), Peers.HOP_HEADER, "1", Peers.TOKEN_HEADER, TOKEN,
        Peers.FROM_HEADER, selfId).statusCode()).isEqualTo(508);
    assertThat(upstream.blobGets(d)).isZero();
    // A peer request to a non-owner is served from the upstream, not forwarded to the owner.
    var r = c.get(blobPath(d), Peers.HOP_HEADER, "1", Peers.TOKEN_HEADER, TOKEN);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(Digest.sha256Of(r.body())).isEqualTo(d);
    assertThat(upstream.blobGets(d)).isEqualTo(1);
    assertThat(peerRequests(other, "ok")).isZero();
    await().atMost(Duration.ofSeconds(5))
        .until(() -> peers.get(other).services().blobs().inFlight().size() == 0);
  }

  /**
   * Knowing a digest is not enough through a peer either: the owner holds the blob for team/app,
   * and a client of another peer asking through a repository the upstream says lacks it gets a
   * 404 and none of the bytes; the owner applied its repository check to the peer's request.
   */
  @Test
  void cachedAtOwner_otherRepositoryThroughAnotherPeer_notServed() throws Exception {
    TestImages.Image image = TestImages.image(4, 40_000);
    TestImages.publish(upstream, "team/app", "v1", image);
    Digest d = image.layerDigest(0);
    upstream.onlyIn(d, "team/app");
    int owner = ownerOf(d, peers.get(0).services().peers().set().members());
    int other = (owner + 1) % 3;
    // The asking peer must see the owner up, or it would (rightly) go to the upstream itself.
    await().until(() -> peers.stream().allMatch(s ->
        s.services().meters().registry().find(WharfMeters.PEERS_UP).gauge().value() == 3));
    var first = clients.get(owner).get(blobPath(d));
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(upstream.blobGets(d)).isEqualTo(1);

    var probe = clients.get(other).get("/v2/else/where/blobs/" + d);
    assertThat(probe.statusCode()).isEqualTo(404);
    assertThat(new String(probe.body(), java.nio.charset.StandardCharsets.UTF_8))
        .contains("BLOB_UNKNOWN");
    assertThat(probe.body().length).isLessThan(1000);
    assertThat(upstream.count("HEAD /v2/else/where/blobs/" + d))
        .as("the owner asked the upstream about that repository").isEqualTo(1);
    assertThat(upstream.blobGets(d)).isEqualTo(1);

    // Through the repository that has it, the other peer gets it from the owner, not upstream.
    var ok = clients.get(other).get(blobPath(d));
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(Digest.sha256Of(ok.body())).isEqualTo(d);
    assertThat(upstream.blobGets(d)).isEqualTo(1);
  }

  private int ownerOf(Digest d, java.util.List<io.wharf.core.peer.Peer> members) {
    for (int i = 0; i < ports.length; i++) {
      if (Rendezvous.owner(d, members).id().equals("127.0.0.1:" + ports[i])) {
        return i;
      }
    }
    throw new AssertionError("no peer owns " + d);
  }
}
