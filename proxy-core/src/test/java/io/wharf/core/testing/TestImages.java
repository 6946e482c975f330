package io.wharf.core.testing;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.MediaTypes;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Deterministic test content: blobs of given sizes and OCI manifests that reference them. */
public final class TestImages {
  private TestImages() {}

  /** {@code size} pseudo-random bytes from {@code seed} (the same every run). */
  public static byte[] bytes(long seed, int size) {
    byte[] b = new byte[size];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < size; ) {
      long v = r.nextLong();
      for (int k = 0; k < 8 && i < size; k++, i++) {
        b[i] = (byte) (v >>> (8 * k));
      }
    }
    return b;
  }

  /** An image: config blob, layers, and its OCI manifest. */
  public record Image(byte[] config, List<byte[]> layers, byte[] manifest) {
    public Digest manifestDigest() {
      return Digest.sha256Of(manifest);
    }

    public Digest configDigest() {
      return Digest.sha256Of(config);
    }

    public Digest layerDigest(int i) {
      return Digest.sha256Of(layers.get(i));
    }
  }

  /** Builds an image whose layers have the given sizes. */
  public static Image image(long seed, int... layerSizes) {
    byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"seed\":" + seed
        + ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}").getBytes(StandardCharsets.UTF_8);
    List<byte[]> layers = new ArrayList<>();
    StringBuilder sb = new StringBuilder();
    sb.append("{\"schemaVersion\":2,\"mediaType\":\"").append(MediaTypes.OCI_MANIFEST)
        .append("\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",")
        .append("\"digest\":\"").append(Digest.sha256Of(config)).append("\",\"size\":")
        .append(config.length).append("},\"layers\":[");
    for (int i = 0; i < layerSizes.length; i++) {
      byte[] layer = bytes(seed * 1000 + i, layerSizes[i]);
      layers.add(layer);
      sb.append(i == 0 ? "" : ",")
          .append("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"")
          .append(Digest.sha256Of(layer)).append("\",\"size\":").append(layer.length).append('}');
    }
    sb.append("]}");
    return new Image(config, layers, sb.toString().getBytes(StandardCharsets.UTF_8));
  }

  /**
   * An OCI index over {@code images}, the i-th for {@code platforms[i]} ({@code os/arch[/variant]}).
   */
  public static byte[] index(List<Image> images, String... platforms) {
    StringBuilder sb = new StringBuilder("{\"schemaVersion\":2,\"mediaType\":\"")
        .append(MediaTypes.OCI_INDEX).append("\",\"manifests\":[");
    for (int i = 0; i < images.size(); i++) {
      String[] p = platforms[i].split("/");
      sb.append(i == 0 ? "" : ",").append("{\"mediaType\":\"").append(MediaTypes.OCI_MANIFEST)
          .append("\",\"digest\":\"").append(images.get(i).manifestDigest())
          .append("\",\"size\":").append(images.get(i).manifest().length)
          .append(",\"platform\":{\"os\":\"").append(p[0]).append("\",\"architecture\":\"")
          .append(p[1]).append('"');
      if (p.length > 2) {
        sb.append(",\"variant\":\"").append(p[2]).append('"');
      }
      sb.append("}}");
    }
    return sb.append("]}").toString().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Publishes a multi-platform image: each image's blobs and manifest (by digest) and an index
   * over them as {@code repo:tag}. Returns the index digest.
   */
  public static Digest publishIndex(ScriptedUpstream upstream, String repo, String tag,
      List<Image> images, String... platforms) {
    for (Image image : images) {
      upstream.putBlob(image.config());
      image.layers().forEach(upstream::putBlob);
      upstream.putManifest(repo, image.manifestDigest().toString(), MediaTypes.OCI_MANIFEST,
          image.manifest());
    }
    return upstream.putManifest(repo, tag, MediaTypes.OCI_INDEX, index(images, platforms));
  }

  /** Publishes {@code image} on {@code upstream} as {@code repo:tag}. */
  public static void publish(ScriptedUpstream upstream, String repo, String tag, Image image) {
    upstream.putBlob(image.config());
    image.layers().forEach(upstream::putBlob);
    upstream.putManifest(repo, tag, MediaTypes.OCI_MANIFEST, image.manifest());
  }

  /**
   * Publishes a fan-out chain: {@code image} (by digest) and {@code levels} indexes tagged
   * {@code l0, l1, ...}, where l0 lists the image {@code k} times (as linux/amd64) and each
   * further level lists the one below {@code k} times. Returns the index digests, l0 first.
   */
  public static List<Digest> publishFanOut(ScriptedUpstream upstream, String repo, Image image,
      int k, int levels) {
    publish(upstream, repo, image.manifestDigest().toString(), image);
    List<Digest> out = new ArrayList<>();
    Digest below = image.manifestDigest();
    String belowType = MediaTypes.OCI_MANIFEST;
    for (int level = 0; level < levels; level++) {
      StringBuilder sb = new StringBuilder("{\"schemaVersion\":2,\"mediaType\":\"")
          .append(MediaTypes.OCI_INDEX).append("\",\"manifests\":[");
      for (int i = 0; i < k; i++) {
        sb.append(i == 0 ? "" : ",").append("{\"mediaType\":\"").append(belowType)
            .append("\",\"digest\":\"").append(below).append("\",\"size\":1")
            .append(",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}");
      }
      below = upstream.putManifest(repo, "l" + level, MediaTypes.OCI_INDEX,
          sb.append("]}").toString().getBytes(StandardCharsets.UTF_8));
      belowType = MediaTypes.OCI_INDEX;
      out.add(below);
    }
    return out;
  }
}
