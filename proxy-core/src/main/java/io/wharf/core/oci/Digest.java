package io.wharf.core.oci;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A validated content digest ({@code sha256:<64 hex>} or {@code sha512:<128 hex>}).
 *
 * <p>Every file path Wharf builds for content comes from a {@code Digest}, never from a name or
 * tag string, so validating here is what keeps {@code ../} out of the store.
 */
public record Digest(String algorithm, String hex) {

  private static final Pattern SHA256 = Pattern.compile("[a-f0-9]{64}");
  private static final Pattern SHA512 = Pattern.compile("[a-f0-9]{128}");

  public Digest {
    switch (algorithm) {
      case "sha256" -> require(SHA256.matcher(hex).matches(), algorithm + ":" + hex);
      case "sha512" -> require(SHA512.matcher(hex).matches(), algorithm + ":" + hex);
      default -> throw new InvalidReferenceException(
          ErrorCode.DIGEST_INVALID, "unsupported digest algorithm: " + shorten(algorithm));
    }
  }

  /** Parses {@code algorithm:hex}; throws {@link InvalidReferenceException} (DIGEST_INVALID). */
  public static Digest parse(String text) {
    if (text == null) {
      throw new InvalidReferenceException(ErrorCode.DIGEST_INVALID, "missing digest");
    }
    int colon = text.indexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new InvalidReferenceException(
          ErrorCode.DIGEST_INVALID, "invalid digest: " + shorten(text));
    }
    return new Digest(text.substring(0, colon), text.substring(colon + 1));
  }

  /** True if {@code text} looks like {@code algorithm:hex} (it may still be invalid). */
  public static boolean looksLikeDigest(String text) {
    return text.indexOf(':') > 0;
  }

  /** The sha256 digest of {@code bytes}. */
  public static Digest sha256Of(byte[] bytes) {
    return new Digest("sha256", HexFormat.of().formatHex(newSha256().digest(bytes)));
  }

  /** A fresh hasher for this digest's algorithm. */
  public MessageDigest newHasher() {
    try {
      return MessageDigest.getInstance(algorithm.equals("sha256") ? "SHA-256" : "SHA-512");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("JDK lacks " + algorithm, e);
    }
  }

  /** True if the finished {@code hasher} output equals this digest. */
  public boolean matches(byte[] hashOutput) {
    return MessageDigest.isEqual(HexFormat.of().parseHex(hex), hashOutput);
  }

  public static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("JDK lacks SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return algorithm + ":" + hex;
  }

  /** First 12 hex characters, for log lines. */
  public String shortHex() {
    return hex.substring(0, 12);
  }

  private static void require(boolean ok, String text) {
    if (!ok) {
      throw new InvalidReferenceException(
          ErrorCode.DIGEST_INVALID, "invalid digest: " + shorten(text));
    }
  }

  static String shorten(String s) {
    return s.length() <= 80 ? s : s.substring(0, 80) + "...";
  }
}
