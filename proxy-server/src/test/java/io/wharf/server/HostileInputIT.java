package io.wharf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.MediaTypes;
import io.wharf.core.testing.TestImages;
import io.wharf.server.testing.TestClient;
import io.wharf.server.testing.WharfOnScriptedUpstream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Inputs and upstream answers meant to break Wharf: each gets its documented answer. */
@Timeout(60)
class HostileInputIT extends WharfOnScriptedUpstream {

  private void start(String serverYaml) {
    start("", "    tagTtl: 0s\n", serverYaml);
  }

  private static long openBlobDescriptors() throws Exception {
    long n = 0;
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : (Iterable<Path>) fds::iterator) {
        try {
          if (Files.readSymbolicLink(fd).toString().contains("/blobs/sha256/")) {
            n++;
          }
        } catch (java.io.IOException e) {
          // fd closed while listing
        }
      }
    }
    return n;
  }

  @Test
  void malformedRanges_servedWhole_noDescriptorLeak() throws Exception {
    byte[] blob = TestImages.bytes(1, 10_000);
    Digest d = upstream.putBlob(blob);
    start("");
    client.get("/v2/app/blobs/" + d);
    long before = openBlobDescriptors();
    for (String range : List.of("bytes=--1", "bytes=5--3", "bytes=+5-+6", "bytes=-", "bytes=a-b")) {
      HttpResponse<byte[]> r = client.get("/v2/app/blobs/" + d, "Range", range);
      assertThat(r.statusCode()).as(range).isEqualTo(200);
      assertThat(r.body()).as(range).isEqualTo(blob);
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> openBlobDescriptors() <= before);
  }

  @Test
  void manifestWithHeaderBreakingMediaType_refused502_notStored() throws Exception {
    String body = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json"
        + "\\r\\nX-Injected: yes\"}";
    upstream.putManifest("app", "v1", "application/json", body.getBytes(StandardCharsets.UTF_8));
    start("");
    HttpResponse<byte[]> r = client.get("/v2/app/manifests/v1");
    assertThat(r.statusCode()).isEqualTo(502);
    assertThat(r.headers().map()).doesNotContainKey("x-injected");
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("invalid media type");
    try (Stream<Path> types = Files.walk(store.resolve("manifests"))) {
      assertThat(types.filter(Files::isRegularFile)).isEmpty();
    }
  }

  @Test
  void manifestNotJson_orNotMatchingUpstreamDigest_refused() throws Exception {
    upstream.putManifest("app", "html", "text/html", "<html>login</html>".getBytes(StandardCharsets.UTF_8));
    TestImages.Image img = TestImages.image(2, 10);
    TestImages.publish(upstream, "app", "v1", img);
    start("");
    assertThat(client.get("/v2/app/manifests/html").statusCode()).isEqualTo(502);
    upstream.lieManifestDigest = true;
    HttpResponse<byte[]> r = client.get("/v2/app/manifests/v1");
    assertThat(r.statusCode()).isEqualTo(502);
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("Docker-Content-Digest");
  }

  @Test
  void tagAnswer_doesNotDependOnOneClientsAccept() throws Exception {
    TestImages.Image img = TestImages.image(3, 10);
    TestImages.publish(upstream, "app", "v1", img);
    start("");
    client.get("/v2/app/manifests/v1", "Accept", "*/*");
    assertThat(upstream.lastHeader("GET /v2/app/manifests/v1", "accept"))
        .isEqualTo(MediaTypes.upstreamAccept(MediaTypes.AcceptClass.INDEX));
    client.get("/v2/app/manifests/v1", "Accept", MediaTypes.OCI_MANIFEST + ", " + MediaTypes.OCI_INDEX);
    assertThat(upstream.lastHeader("HEAD /v2/app/manifests/v1", "accept"))
        .isEqualTo(MediaTypes.upstreamAccept(MediaTypes.AcceptClass.INDEX));
  }

  @Test
  void badPassthroughQuery_400_upstreamUntouched() throws Exception {
    start("");
    for (String q : List.of("n=1|2", "n=%zz", "last=..", "n=-1", "last=a`b")) {
      assertThat(client.rawStatus("/v2/app/tags/list?" + q)).as(q).isEqualTo(400);
    }
    HttpResponse<byte[]> ref = client.get("/v2/app/referrers/sha256:" + "a".repeat(64)
        + "?artifactType=a%0d%0ab");
    assertThat(ref.statusCode()).isEqualTo(400);
    assertThat(upstream.counts()).isEmpty();
  }

  @Test
  void absoluteFormRequestTarget_served() throws Exception {
    start("");
    try (Socket s = new Socket("127.0.0.1", server.port())) {
      s.getOutputStream().write(("GET http://wharf.example/v2/ HTTP/1.1\r\nHost: wharf.example\r\n"
          + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      String resp = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertThat(resp).startsWith("HTTP/1.1 200");
    }
  }

  @Test
  void clientThatStopsReadingAManifest_isDropped() throws Exception {
    byte[] big = ("{\"pad\":\"" + "x".repeat(3_500_000) + "\"}").getBytes(StandardCharsets.UTF_8);
    upstream.putManifest("app", "big", MediaTypes.OCI_MANIFEST, big);
    start("  writeStallTimeout: 1s\n");
    client.get("/v2/app/manifests/big");
    List<Socket> stalled = new ArrayList<>();
    try {
      for (int i = 0; i < 5; i++) {
        Socket s = new Socket();
        s.setReceiveBufferSize(4096);
        s.connect(new InetSocketAddress("127.0.0.1", server.port()));
        s.getOutputStream().write("GET /v2/app/manifests/big HTTP/1.1\r\nHost: x\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
        stalled.add(s);
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> server.services().activeResponses() == 0);
    } finally {
      for (Socket s : stalled) {
        s.close();
      }
    }
  }

  /**
   * A stored layer goes out as one zero-copy file region. A client on a slow link takes it for far
   * longer than the write-stall timeout while bytes keep leaving: it must be served to the end.
   * A client that stops reading part-way is dropped.
   */
  @Test
  void slowReaderOfAStoredBlob_servedToTheEnd_oneThatStops_dropped() throws Exception {
    byte[] blob = TestImages.bytes(7, 16 << 20);
    Digest d = upstream.putBlob(blob);
    start("  writeStallTimeout: 2s\n");
    assertThat(client.get("/v2/app/blobs/" + d).statusCode()).isEqualTo(200); // now stored
    ScheduledExecutorService pace = Executors.newScheduledThreadPool(2);
    try (Socket slow = blobRequest(d); Socket stops = blobRequest(d)) {
      // 128 KiB every 50 ms: about 6 s for the body, three timeouts, with bytes moving throughout.
      java.util.concurrent.CompletableFuture<byte[]> whole =
          pacedRead(pace, slow, blob.length, 128 * 1024);
      java.util.concurrent.CompletableFuture<byte[]> part =
          pacedRead(pace, stops, 1 << 20, 128 * 1024);
      byte[] first = part.get(30, TimeUnit.SECONDS);
      assertThat(first).isEqualTo(java.util.Arrays.copyOf(blob, first.length));
      byte[] body = whole.get(45, TimeUnit.SECONDS);
      assertThat(body).hasSize(blob.length).isEqualTo(blob);
      // The one that stopped after 1 MiB is dropped, so no response is active any more.
      await().atMost(Duration.ofSeconds(15)).until(() -> server.services().activeResponses() == 0);
    } finally {
      pace.shutdownNow();
    }
  }

  @Test
  void steadyReaderSlowerThanTheKernelSendBufferDrains_servedToTheEnd() throws Exception {
    // With the kernel's default (autotuned, MBs on loopback) buffers, the process writes again
    // only after much of the send buffer drained: a steady 320 KB/s reader takes longer than the
    // 2 s timeout for that, yet takes bytes all along. It must not be dropped as stalled.
    byte[] blob = TestImages.bytes(8, 4 << 20);
    Digest d = upstream.putBlob(blob);
    start("  writeStallTimeout: 2s\n");
    assertThat(client.get("/v2/app/blobs/" + d).statusCode()).isEqualTo(200); // now stored
    ScheduledExecutorService pace = Executors.newScheduledThreadPool(1);
    try (Socket steady = blobRequest(d, 0)) {
      byte[] body = pacedRead(pace, steady, blob.length, 16 * 1024).get(60, TimeUnit.SECONDS);
      assertThat(body).hasSize(blob.length).isEqualTo(blob);
    } finally {
      pace.shutdownNow();
    }
  }

  private Socket blobRequest(Digest d) throws java.io.IOException {
    return blobRequest(d, 16384);
  }

  /** A raw blob GET; {@code receiveBuffer} 0 leaves the kernel's default. */
  private Socket blobRequest(Digest d, int receiveBuffer) throws java.io.IOException {
    Socket s = new Socket();
    if (receiveBuffer > 0) {
      s.setReceiveBufferSize(receiveBuffer);
    }
    s.connect(new InetSocketAddress("127.0.0.1", server.port()));
    s.getOutputStream().write(("GET /v2/app/blobs/" + d + " HTTP/1.1\r\nHost: x\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    return s;
  }

  /**
   * Reads the response head, then up to {@code bodyBytes} of body, at most {@code perTick} per 50 ms tick;
   * completes with the body bytes read, or exceptionally if the connection ends first.
   */
  private static java.util.concurrent.CompletableFuture<byte[]> pacedRead(
      ScheduledExecutorService pace, Socket s, int bodyBytes, int perTick)
      throws java.io.IOException {
    java.util.concurrent.CompletableFuture<byte[]> done = new java.util.concurrent.CompletableFuture<>();
    InputStream in = s.getInputStream();
    java.io.ByteArrayOutputStream head = new java.io.ByteArrayOutputStream();
    java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
    byte[] buf = new byte[perTick];
    pace.scheduleWithFixedDelay(() -> {
      if (done.isDone()) {
        throw new java.util.concurrent.CancellationException(); // ends this task
      }
      try {
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
          int b = in.read();
          if (b < 0) {
            throw new java.io.EOFException("closed before the response head ended");
          }
          head.write(b);
        }
        int tick = 0; // a 16 KiB receive buffer gives at most that much per read
        while (tick < buf.length && body.size() < bodyBytes) {
          int n = in.read(buf, 0, Math.min(buf.length - tick, bodyBytes - body.size()));
          if (n < 0) {
            throw new java.io.EOFException("closed after " + body.size() + " body bytes");
          }
          body.write(buf, 0, n);
          tick += n;
        }
        if (body.size() >= bodyBytes) {
          done.complete(body.toByteArray());
        }
      } catch (java.io.IOException e) {
        done.completeExceptionally(e);
      }
    }, 0, 50, TimeUnit.MILLISECONDS);
    return done;
  }

  @Test
  void slowlorisTrickle_closedAfterIdleTimeout() throws Exception {
    start("  idleTimeout: 1s\n");
    ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
    try (Socket s = new Socket("127.0.0.1", server.port())) {
      OutputStream out = s.getOutputStream();
      out.write("GET /v2/ HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
      trickle.scheduleAtFixedRate(() -> {
        try {
          out.write('X');
          out.flush();
        } catch (java.io.IOException e) {
          // closed by the server: what we expect
        }
      }, 100, 200, TimeUnit.MILLISECONDS);
      s.setSoTimeout(10_000);
      InputStream in = s.getInputStream();
      int first;
      try {
        first = in.read();
      } catch (java.net.SocketException e) {
        first = -1; // reset counts as closed
      } catch (SocketTimeoutException e) {
        throw new AssertionError("slowloris connection still open after 10 s");
      }
      assertThat(first).isEqualTo(-1);
    } finally {
      trickle.shutdownNow();
    }
  }

  @Test
  void connectionsPastTheCap_503AndClosed() throws Exception {
    start("  maxConnections: 3\n");
    List<Socket> held = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        held.add(new Socket("127.0.0.1", server.port()));
      }
      await().until(() -> server.services().isReady());
      HttpResponse<byte[]> r = client.get("/v2/");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.headers().firstValue("Retry-After")).isPresent();
      assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("too many connections");
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> new TestClient(server.port()).get("/v2/").statusCode() == 200);
  }
}
