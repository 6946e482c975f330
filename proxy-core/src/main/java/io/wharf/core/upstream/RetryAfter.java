package io.wharf.core.upstream;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/** Reads a {@code Retry-After} value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
final class RetryAfter {

  private RetryAfter() {}

  /** Seconds to wait, or -1 when the value is absent or unreadable. */
  static long seconds(String value, Instant now) {
    if (value == null || value.isBlank()) {
      return -1;
    }
    String v = value.strip();
    if (v.chars().allMatch(Character::isDigit)) {
      try {
        return Long.parseLong(v);
      } catch (NumberFormatException e) {
        return -1; // absurdly long
      }
    }
    try {
      Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
      Duration d = Duration.between(now, at);
      if (d.isNegative()) {
        return 0;
      }
      return d.getSeconds() + (d.getNano() > 0 ? 1 : 0);
    } catch (DateTimeParseException e) {
      return -1;
    }
  }
}
