package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.Counter;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.store.TieredStore;
import io.wharf.core.testing.ScriptedUpstream;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every client of a blob fetch goes away before it completes: by default the fetch goes on and
 * the blob is stored (the next job wants it); with {@code cancelWhenAbandoned: true} the upstream
 * download is cancelled and nothing is left behind, and the next request starts afresh.
 */
@Timeout(120)
class AbandonedFetchIT extends WharfOnScriptedUpstream {
  private static final int SIZE = 8 << 20;
  private static final int GATE = 1 << 20;

  private TieredStore store() {
    return server.services().blobs().store();
  }

  private double fetchResult(String result) {
    Counter c = server.services().meters().registry().find(WharfMeters.FETCH_RESULTS)
        .tags("upstream", "up", "result", result).counter();
    return c == null ? 0 : c.count();
  }

  private long tempFiles() throws IOException {
    try (Stream<Path> s = Files.list(super.store.resolve("tmp"))) {
      return s.count();
    }
  }

  /** A GET on a raw socket that has read the start of its response; {@link #close} hangs up. */
  private final class PartialGet implements AutoCloseable {
    private final Socket socket = new Socket();

    PartialGet(String path, int n) throws IOException {
      socket.connect(new InetSocketAddress("127.0.0.1", server.port()));
      socket.setSoTimeout(30_000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      InputStream in = socket.getInputStream();
      byte[] head = in.readNBytes(n);
      assertThat(new String(head, 0, 12, StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200");
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  private int readers(Digest d) {
    var blob = server.services().blobs().inFlight().get(d);
    return blob == null ? -1 : blob.readers();
  }

  private Digest gatedBlob(byte[] bytes) {
    Digest d = upstream.putBlob(bytes);
    ScriptedUpstream.Script script = upstream.script(d);
    script.gate = new CountDownLatch(1);
    script.gateAfter = GATE;
    return d;
  }

  @Test
  void everyClientGone_byDefault_fetchCompletesAndIsStored() throws Exception {
    byte[] bytes = TestImages.bytes(61, SIZE);
    Digest d = gatedBlob(bytes);
    start("", "", "");
    new PartialGet("/v2/app/blobs/" + d, 64 << 10).close();
    await().until(() -> readers(d) == 1);
    upstream.script(d).gate.countDown();
    await().until(() -> "disk0".equals(store().tierOf(d)));
    assertThat(fetchResult("ok")).isEqualTo(1);
    assertThat(fetchResult("abandoned")).isZero();
    assertThat(upstream.bodyBytesSent()).isEqualTo(SIZE);
    assertThat(client.get("/v2/app/blobs/" + d).body()).isEqualTo(bytes);
    assertThat(upstream.blobGets(d)).as("served from the store").isEqualTo(1);
  }

  @Test
  void everyClientGone_cancelWhenAbandoned_cancelsUpstream_leavesNothing_nextRequestStartsFresh()
      throws Exception {
    byte[] bytes = TestImages.bytes(62, SIZE);
    Digest d = gatedBlob(bytes);
    start("", "    cancelWhenAbandoned: true\n", "");
    // Two clients on one fetch: the first leaving does not cancel it, the second does.
    PartialGet first = new PartialGet("/v2/app/blobs/" + d, 64 << 10);
    PartialGet second = new PartialGet("/v2/app/blobs/" + d, 64 << 10);
    assertThat(readers(d)).isEqualTo(2);
    first.close();
    await().during(Duration.ofMillis(300)).until(() -> readers(d) == 2);
    assertThat(fetchResult("abandoned")).isZero();
    second.close();
    await().until(() -> fetchResult("abandoned") == 1);
    await().until(() -> server.services().blobs().inFlight().size() == 0);
    assertThat(upstream.blobGets(d)).isEqualTo(1);
    assertThat(tempFiles()).as("temp file deleted").isZero();
    assertThat(store().tiers()).allSatisfy(t -> assertThat(t.reservedBytes()).isZero());
    assertThat(store().tierOf(d)).isNull();

    upstream.script(d).gate.countDown();
    // The cancelled connection takes no more: the upstream's writes fail long before 8 MiB.
    await().during(Duration.ofMillis(500)).until(() -> upstream.bodyBytesSent() < SIZE);
    assertThat(client.get("/v2/app/blobs/" + d).body()).isEqualTo(bytes);
    assertThat(upstream.blobGets(d)).as("a fresh fetch").isEqualTo(2);
    assertThat(upstream.bodyBytesSent()).as("the first fetch stopped early").isLessThan(2L * SIZE);
    // The body ends once the digest matches; storing it follows.
    await().atMost(Duration.ofSeconds(10)).until(() -> "disk0".equals(store().tierOf(d)));
    await().atMost(Duration.ofSeconds(10)).until(() -> fetchResult("ok") == 1);
    assertThat(tempFiles()).isZero();
  }

  @Test
  void oneClientGoesAway_cancelWhenAbandoned_othersKeepReading() throws Exception {
    byte[] bytes = TestImages.bytes(63, SIZE);
    Digest d = gatedBlob(bytes);
    start("", "    cancelWhenAbandoned: true\n", "");
    var stays = client.getHashed("/v2/app/blobs/" + d);
    await().until(() -> readers(d) == 1);
    new PartialGet("/v2/app/blobs/" + d, 64 << 10).close();
    await().during(Duration.ofMillis(300)).until(() -> readers(d) == 2);
    upstream.script(d).gate.countDown();
    assertThat(stays.get().digest()).isEqualTo(d.toString());
    assertThat(fetchResult("abandoned")).isZero();
    assertThat(upstream.blobGets(d)).isEqualTo(1);
    await().until(() -> "disk0".equals(store().tierOf(d)));
  }
}
