import TcptraceCLI

TcptraceCommand.main()
