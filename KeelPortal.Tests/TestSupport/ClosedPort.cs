using System.Net;
using System.Net.Sockets;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// A loopback port that refuses connections for as long as this is held: the port is bound (so no other process can
/// take it) but never listened on. For tests of "the other side is not there"; servers bind port 0 instead
/// (<see cref="Loopback"/>).
/// </summary>
public sealed class ClosedPort : IDisposable
{
    private readonly Socket socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public ClosedPort()
    {
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public int Port { get; }

    public void Dispose() => socket.Dispose();
}
