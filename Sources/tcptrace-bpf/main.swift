import TcptraceCLI

TcptraceCommand.runMain()
