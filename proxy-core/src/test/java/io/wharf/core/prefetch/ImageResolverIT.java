package io.wharf.core.prefetch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.manifest.ManifestService;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.store.DiskStore;
import io.wharf.core.testing.ScriptedUpstream;
import io.wharf.core.testing.TestImages;
import io.wharf.core.upstream.RegistryClient;
import io.wharf.core.upstream.UpstreamRouter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resolving on real sockets against a scripted registry: a fan-out chain of indexes (every entry
 * of each level points at the same digest) is walked once per distinct manifest, and the work
 * limits fail an image with a clear message.
 */
@Timeout(30)
class ImageResolverIT {
  private static final int K = 100;
  private static final String REPO = "fan/out";

  @TempDir Path root;
  private final ExecutorService disk = Executors.newFixedThreadPool(4);
  private final ExecutorService prefetch = Executors.newFixedThreadPool(2);
  private final ExecutorService http = Executors.newFixedThreadPool(4);
  private ScriptedUpstream upstream;
  private UpstreamRouter router;
  private ManifestService manifests;
  private TestImages.Image image;
  /** l0 .. l3: l0 lists the image K times, each level lists the one below K times. */
  private List<Digest> levels;

  @BeforeEach
  void start() throws Exception {
    upstream = new ScriptedUpstream();
    RegistryClient client = new RegistryClient(UpstreamConfig.of("up", upstream.url()), Map.of(),
        http, WharfMeters.noop());
    router = new UpstreamRouter(List.of(client), "up");
    manifests = ManifestService.create(DiskStore.open(root), disk, WharfMeters.noop());
    image = TestImages.image(5, 1000, 2000);
    levels = TestImages.publishFanOut(upstream, REPO, image, K, 4);
  }

  @AfterEach
  void stop() throws Exception {
    upstream.close();
    for (ExecutorService e : List.of(disk, prefetch, http)) {
      e.shutdownNow();
      e.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private int manifestGets(Digest d) {
    return upstream.count("GET /v2/" + REPO + "/manifests/" + d);
  }

  @Test
  void resolve_fanOutChainOfIndexes_fetchesEachManifestOnce() throws Exception {
    ImageResolver resolver = new ImageResolver(router, manifests, prefetch);

    ImageResolver.Resolved r = resolver.resolve(REPO + ":l3", List.of())
        .get(20, TimeUnit.SECONDS);

    assertThat(r.digest()).isEqualTo(levels.get(3));
    assertThat(r.manifests().keySet()).containsExactlyInAnyOrder(levels.get(3), levels.get(2),
        levels.get(1), levels.get(0), image.manifestDigest());
    assertThat(r.blobs()).containsOnlyKeys(image.configDigest(), image.layerDigest(0),
        image.layerDigest(1));
    assertThat(r.blobs().get(image.layerDigest(1))).isEqualTo(2000L);
    assertThat(upstream.count("GET /v2/" + REPO + "/manifests/l3")).isEqualTo(1);
    for (Digest d : List.of(levels.get(2), levels.get(1), levels.get(0), image.manifestDigest())) {
      assertThat(manifestGets(d)).as("GETs of %s: %s", d, upstream.counts()).isEqualTo(1);
    }
  }

  @Test
  void session_imagesSharingManifests_fetchEachOnce_withPlatformFilter() throws Exception {
    ImageResolver.Session session = new ImageResolver(router, manifests, prefetch)
        .session(List.of(Platform.parse("linux/amd64")));

    List<ImageResolver.Resolved> all = new ArrayList<>();
    for (String tag : List.of("l3", "l2", "l1")) {
      all.add(session.resolve(REPO + ":" + tag).get(20, TimeUnit.SECONDS));
    }

    for (ImageResolver.Resolved r : all) {
      assertThat(r.blobs()).hasSize(3);
      assertThat(r.manifests()).containsKey(image.manifestDigest());
    }
    assertThat(manifestGets(image.manifestDigest())).isEqualTo(1);
    assertThat(manifestGets(levels.get(0))).isEqualTo(1);
  }

  @Test
  void resolve_moreManifestsThanTheLimit_failsNamingTheImage() {
    ImageResolver resolver = new ImageResolver(router, manifests, prefetch, 3, 100);

    Throwable t = catchThrowable(
        () -> resolver.resolve(REPO + ":l3", List.of()).get(20, TimeUnit.SECONDS));

    assertThat(unwrap(t)).isInstanceOf(IllegalStateException.class).hasMessage("image " + ImageRef.parse(REPO + ":l3")
            + " references more than 3 manifests");
    assertThat(manifestGets(image.manifestDigest())).as("never reached").isZero();
  }

  @Test
  void resolve_moreBlobsThanTheLimit_failsNamingTheImage() {
    ImageResolver resolver = new ImageResolver(router, manifests, prefetch, 10, 2);

    Throwable t = catchThrowable(
        () -> resolver.resolve(REPO + ":l1", List.of()).get(20, TimeUnit.SECONDS));

    assertThat(unwrap(t)).isInstanceOf(IllegalStateException.class)
        .hasMessageEndingWith("references more than 2 blobs");
    assertThat(resolver.resolve(REPO + ":l0", List.of(Platform.parse("linux/arm64"))))
        .failsWithin(20, TimeUnit.SECONDS).withThrowableOfType(Exception.class)
        .withMessageContaining("has no manifest for platform");
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
