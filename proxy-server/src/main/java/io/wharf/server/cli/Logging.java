package io.wharf.server.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import org.slf4j.LoggerFactory;

/** Log level control at start-up. */
final class Logging {
  private Logging() {}

  /** Sends java.util.logging (Caffeine, the JDK HTTP client) through SLF4J to Logback. */
  static void bridgeJavaUtilLogging() {
    org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
    org.slf4j.bridge.SLF4JBridgeHandler.install();
  }

  static void setRootLevel(Level level) {
    setLevel(org.slf4j.Logger.ROOT_LOGGER_NAME, level);
  }

  static void setLevel(String logger, Level level) {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx) {
      ctx.getLogger(logger).setLevel(level);
    }
  }
}
