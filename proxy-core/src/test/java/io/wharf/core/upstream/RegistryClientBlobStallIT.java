package io.wharf.core.upstream;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.assertj.core.api.Assertions.assertThat;


import io.wharf.core.config.Credentials;
import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.UpstreamException.Kind;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

class RegistryClientBlobStallIT extends UpstreamItSupport {

  static final RepositoryName REPO = RepositoryName.of("team/app");
  static final byte[] BLOB = new byte[64 * 1024];
  static final Digest DIGEST;

  static {
    new Random(7).nextBytes(BLOB);
    DIGEST = Digest.sha256Of(BLOB);
  }

  static final String BLOB_PATH = "/v2/team/app/blobs/" + DIGEST;

  RegistryClient clientWithIdle(Duration idle) {
    return client(new UpstreamConfig(UPSTREAM, registryUrl(), null, Credentials.NONE, null, null,
        Duration.ofSeconds(2), Duration.ofSeconds(5), idle, null, null, null, null, null, null, null, null, null)
        .withDefaults(), Map.of());
  }

  /** Collects a body; requests only when told to. */
  static final class Collector implements Flow.Subscriber<List<ByteBuffer>> {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final CompletableFuture<byte[]> done = new CompletableFuture<>();
    final AtomicReference<Flow.Subscription> subscription = new AtomicReference<>();

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription.set(s);
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
      for (ByteBuffer b : item) {
        byte[] a = new byte[b.remaining()];
        b.get(a);
        bytes.writeBytes(a);
      }
    }

    @Override
    public void onError(Throwable t) {
      done.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      done.complete(bytes.toByteArray());
    }
  }

  @Test
  void getBlob_bodyStallsWhileDataWanted_subscriberGetsTimeout() throws Exception {
    registry.stubFor(get(urlEqualTo(BLOB_PATH))
        .willReturn(aResponse().withBody(BLOB).withChunkedDribbleDelay(2, 6000)));

    BlobStream s = await(clientWithIdle(Duration.ofMillis(300)).getBlob(REPO, DIGEST, 0));
    Collector c = new Collector();
    s.body().subscribe(c);
    c.subscription.get().request(Long.MAX_VALUE);

    UpstreamException e = failure(c.done);
    assertThat(e.kind()).isEqualTo(Kind.TIMEOUT);
    assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
    assertThat(e.status()).isEqualTo(504);
    assertThat(e.getMessage()).startsWith("fetch blob team/app@" + DIGEST + " from test.reg: ").contains("stalled");
  }

  @Test
  void getBlob_subscriberRequestsNothing_neverTimedOut_thenReadsWholeBody() throws Exception {
    registry.stubFor(get(urlEqualTo(BLOB_PATH)).willReturn(aResponse().withBody(BLOB)));

    BlobStream s = await(clientWithIdle(Duration.ofMillis(100)).getBlob(REPO, DIGEST, 0));
    Collector c = new Collector();
    s.body().subscribe(c);

    // several idle periods pass without demand: backpressure is not a stall
    Awaitility.await().during(Duration.ofMillis(600)).atMost(Duration.ofSeconds(2)).until(() -> !c.done.isDone());
    c.subscription.get().request(Long.MAX_VALUE);

    assertThat(c.done.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(BLOB);
  }
}
