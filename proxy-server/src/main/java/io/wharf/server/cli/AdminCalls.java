package io.wharf.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;

/** One admin API call from a command: send, check the status, print, map to an exit status. */
final class AdminCalls {
  private AdminCalls() {}

  /** A call that may fail to reach the admin API. */
  interface Call {
    AdminClient.Reply send() throws AdminClient.AdminUnreachableException;
  }

  /**
   * Exit status 0 when the reply has status {@code expected} (then {@code print} runs), 1 when
   * the thing was not found, 2 when the request was refused or the API unreachable.
   */
  static int run(picocli.CommandLine.Model.CommandSpec spec, String what, Call call, int expected,
      BiConsumer<PrintWriter, JsonNode> print) {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      AdminClient.Reply r = call.send();
      if (r.status() != expected) {
        err.println("wharf " + what + ": " + r.errorText());
        err.flush();
        return r.status() == 404 ? 1 : 2;
      }
      print.accept(out, r.body());
      out.flush();
      return 0;
    } catch (AdminClient.AdminUnreachableException e) {
      err.println("wharf " + what + ": " + e.getMessage());
      err.flush();
      return 2;
    }
  }

  /**
   * {@code DELETE prefix+item} for each item, printing {@code line(item, reply)} for each success;
   * the worst exit status.
   */
  static int deleteEach(picocli.CommandLine.Model.CommandSpec spec, String what,
      AdminClient admin, String prefix, List<String> items,
      BiFunction<String, JsonNode, String> line) {
    int status = 0;
    for (String item : items) {
      status = Math.max(status, run(spec, what, () -> admin.send("DELETE", prefix + item, null),
          200, (out, j) -> out.println(line.apply(item, j))));
    }
    return status;
  }
}
