// LoopbackDynamoDB starts DynamoDB Local on loopback only. The jar has no option for the
// address it listens on: its server binds Jetty to every interface, and it answers anyone
// without checking credentials. This launcher builds the same server from the same
// command line (ServerRunner.createServerFromCommandLineArgs), then, before it starts,
// binds its one connector to 127.0.0.1 and puts a guard in front of its handlers.
//
// The guard refuses a request whose Host does not name this machine's loopback (a web page
// that rebinds its own name to 127.0.0.1 sends its own name; any port is accepted, so that
// the tests' TCP proxies in front of it, whose port the client names, pass) and any request carrying
// an Origin header: the SDKs never send one, browsers always do on the cross-origin
// requests DynamoDB Local's default CORS policy ("*") would otherwise answer.
//
// `make tools` compiles it against the jar (internal/local/standins starts it); it uses
// only the jar's public classes and one private field, the server, read by reflection.

import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.io.IOException;
import java.lang.reflect.Field;
import java.util.Set;
import javax.servlet.ServletException;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.HandlerWrapper;

public final class LoopbackDynamoDB {
    private static final String HOST = "127.0.0.1";

    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        Connector[] connectors = server.getConnectors();
        if (connectors.length == 0) {
            throw new IllegalStateException("DynamoDB Local has no connector to bind to " + HOST);
        }
        for (Connector c : connectors) {
            ((ServerConnector) c).setHost(HOST);
        }
        Set<String> hosts = Set.of(HOST, "localhost", "[::1]");
        HandlerWrapper guard = new HandlerWrapper() {
            @Override
            public void handle(String target, Request base, HttpServletRequest req, HttpServletResponse res)
                    throws IOException, ServletException {
                String host = req.getHeader("Host");
                if (host != null) {
                    host = host.toLowerCase().replaceFirst(":[0-9]+$", "");
                }
                if (host == null || !hosts.contains(host) || req.getHeader("Origin") != null) {
                    base.setHandled(true);
                    res.sendError(HttpServletResponse.SC_FORBIDDEN, "DynamoDB Local answers this machine's programs only");
                    return;
                }
                super.handle(target, base, req, res);
            }
        };
        guard.setHandler(server.getHandler());
        server.setHandler(guard);
        proxy.start();
    }
}
