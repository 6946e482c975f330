package io.wharf.core.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.config.WharfConfig;
import io.wharf.core.fetch.BlobSource;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.testing.ScriptedUpstream;
import io.wharf.core.testing.TestImages;
import io.wharf.core.upstream.BlobStream;
import io.wharf.core.upstream.RegistryClient;
import io.wharf.core.upstream.UpstreamException;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Which source a peer blob fetch ends up reading, on real sockets: two scripted registries stand
 * in for the owner peers (a peer request is an ordinary OCI blob GET), a third for the upstream.
 */
@Timeout(60)
class PeerBlobSourceIT {
  private static final String SELF = "127.0.0.1:1";
  private static final RepositoryName REPO = RepositoryName.of("team/app");

  private final ExecutorService executor = Executors.newFixedThreadPool(4);
  private final WharfMeters meters = WharfMeters.noop();
  private ScriptedUpstream first;
  private ScriptedUpstream second;
  private ScriptedUpstream upstream;
  private Peers peers;
  private RegistryClient client;

  @BeforeEach
  void start() throws Exception {
    first = new ScriptedUpstream();
    second = new ScriptedUpstream();
    upstream = new ScriptedUpstream();
    client = new RegistryClient(UpstreamConfig.of("up", upstream.url()), Map.of(), executor,
        meters);
  }

  @AfterEach
  void stop() throws Exception {
    first.close();
    second.close();
    upstream.close();
    executor.shutdownNow();
    executor.awaitTermination(5, TimeUnit.SECONDS);
  }

  private void peers(String firstId, String secondId) {
    peers = new Peers(WharfConfig.parse("peers:\n  self: \"" + SELF + "\"\n  members: [\""
        + firstId + "\", \"" + secondId + "\"]\n  connectTimeout: 1s\n  timeout: 5s\n").peers(),
        1, null, InetAddress::getAllByName, executor, meters);
    peers.set().refresh();
  }

  private static String id(ScriptedUpstream s) {
    return "127.0.0.1:" + s.port();
  }

  /**
   * A blob, on all three servers, whose rendezvous order puts {@code a} first, {@code b} second
   * and this instance last (so both are owners to ask before the upstream).
   */
  private Digest blobOrderedFor(String a, String b) {
    List<Peer> members = peers.set().members();
    for (int seed = 0; ; seed++) {
      byte[] body = TestImages.bytes(seed, 200_000);
      Digest d = Digest.sha256Of(body);
      List<String> order = Rendezvous.order(d, members).stream().map(Peer::id).toList();
      if (order.equals(List.of(a, b, SELF))) {
        first.putBlob(body);
        second.putBlob(body);
        upstream.putBlob(body);
        return d;
      }
    }
  }

  private static byte[] read(BlobStream s) throws Exception {
    CompletableFuture<byte[]> done = new CompletableFuture<>();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    s.body().subscribe(new Flow.Subscriber<List<ByteBuffer>>() {
      @Override
      public void onSubscribe(Flow.Subscription sub) {
        sub.request(Long.MAX_VALUE);
      }

      @Override
      public void onNext(List<ByteBuffer> item) {
        for (ByteBuffer b : item) {
          byte[] chunk = new byte[b.remaining()];
          b.get(chunk);
          out.write(chunk, 0, chunk.length);
        }
      }

      @Override
      public void onError(Throwable t) {
        done.completeExceptionally(t);
      }

      @Override
      public void onComplete() {
        done.complete(out.toByteArray());
      }
    });
    return done.get(20, TimeUnit.SECONDS);
  }

  private double count(String result) {
    var c = meters.registry().find(WharfMeters.PEER_REQUESTS).tag("result", result).counter();
    return c == null ? 0 : c.count();
  }

  private Peer peer(String id) {
    return peers.set().members().stream().filter(p -> p.id().equals(id)).findFirst().orElseThrow();
  }

  @Test
  void getBlob_ownerAnswers_servedByOwnerWithHopHeaders() throws Exception {
    peers(id(first), id(second));
    Digest d = blobOrderedFor(id(first), id(second));
    BlobSource source = peers.sourceFor(client, REPO, d);
    assertThat(Digest.sha256Of(read(source.getBlob(REPO, d, 0).get()))).isEqualTo(d);
    assertThat(first.blobGets(d)).isEqualTo(1);
    assertThat(second.blobGets(d) + upstream.blobGets(d)).isZero();
    String path = "GET /v2/team/app/blobs/" + d;
    assertThat(first.lastHeader(path, "wharf-peer-hop")).isEqualTo("1");
    assertThat(first.lastHeader(path, "wharf-peer-from")).isEqualTo(peers.instanceId());
    assertThat(first.lastQuery(path)).isEqualTo("ns=up");
    assertThat(count("ok")).isEqualTo(1);
  }

  @Test
  void getBlob_ownerAnswers5xx_nextOwnerServesAndFirstStaysUp() throws Exception {
    peers(id(first), id(second));
    Digest d = blobOrderedFor(id(first), id(second));
    first.script(d).status = 502;
    byte[] got = read(peers.sourceFor(client, REPO, d).getBlob(REPO, d, 0).get());
    assertThat(Digest.sha256Of(got)).isEqualTo(d);
    assertThat(second.blobGets(d)).isEqualTo(1);
    assertThat(upstream.blobGets(d)).isZero();
    assertThat(peers.health().isUp(peer(id(first)))).isTrue();
    assertThat(count("error")).isEqualTo(1);
  }

  @Test
  void getBlob_ownerAnswers404_finalWithoutAskingOthers() throws Exception {
    peers(id(first), id(second));
    Digest d = blobOrderedFor(id(first), id(second));
    first.script(d).status = 404;
    assertThatThrownBy(() -> peers.sourceFor(client, REPO, d).getBlob(REPO, d, 0).join())
        .hasCauseInstanceOf(UpstreamException.class)
        .cause().satisfies(e ->
            assertThat(((UpstreamException) e).kind()).isEqualTo(UpstreamException.Kind.NOT_FOUND));
    assertThat(second.blobGets(d) + upstream.blobGets(d)).isZero();
  }

  @Test
  void getBlob_ownersRefuseConnections_markedDownAndUpstreamServes() throws Exception {
    String dead1;
    String dead2;
    try (ServerSocket a = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        ServerSocket b = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      dead1 = "127.0.0.1:" + a.getLocalPort();
      dead2 = "127.0.0.1:" + b.getLocalPort();
    }
    peers(dead1, dead2);
    Digest d = blobOrderedFor(dead1, dead2);
    byte[] got = read(peers.sourceFor(client, REPO, d).getBlob(REPO, d, 0).get());
    assertThat(Digest.sha256Of(got)).isEqualTo(d);
    assertThat(upstream.blobGets(d)).isEqualTo(1);
    assertThat(peers.health().isUp(peer(dead1))).isFalse();
    assertThat(peers.health().isUp(peer(dead2))).isFalse();
    assertThat(count("unreachable")).isEqualTo(2);
    assertThat(count("upstream_fallback")).isEqualTo(1);
    // Both down: this instance owns the digest now, no peer source at all.
    assertThat(peers.sourceFor(client, REPO, d)).isNull();
  }

  @Test
  void getBlob_ownerResetsMidBody_ownerMarkedDownAndResumeGoesToNextOwner() throws Exception {
    peers(id(first), id(second));
    Digest d = blobOrderedFor(id(first), id(second));
    first.script(d).resetAfter = 50_000;
    first.script(d).resets.set(1);
    BlobSource source = peers.sourceFor(client, REPO, d);
    BlobStream broken = source.getBlob(REPO, d, 0).get();
    assertThatThrownBy(() -> read(broken)).isNotNull();
    assertThat(peers.health().isUp(peer(id(first)))).isFalse();
    assertThat(count("body_error")).isEqualTo(1);
    BlobStream resumed = source.getBlob(REPO, d, 50_000).get();
    assertThat(resumed.startOffset()).isEqualTo(50_000);
    assertThat(second.lastHeader("GET /v2/team/app/blobs/" + d, "range"))
        .isEqualTo("bytes=50000-");
    assertThat(read(resumed)).hasSize(150_000);
  }
}
