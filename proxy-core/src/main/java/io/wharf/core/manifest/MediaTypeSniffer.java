package io.wharf.core.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/** Reads just enough of a manifest body to check it is JSON and find its {@code mediaType}. */
final class MediaTypeSniffer {
  private static final ObjectMapper JSON = new ObjectMapper();

  private MediaTypeSniffer() {}

  /** Whether a body is a JSON object, and its {@code mediaType} field if it has a textual one. */
  record Sniffed(boolean isJsonObject, String mediaType) {}

  static Sniffed sniff(byte[] body) {
    try {
      JsonNode n = JSON.readTree(body);
      if (n == null || !n.isObject()) {
        return new Sniffed(false, null);
      }
      JsonNode t = n.get("mediaType");
      return new Sniffed(true, t != null && t.isTextual() ? t.asText() : null);
    } catch (IOException e) {
      return new Sniffed(false, null);
    }
  }
}
