import Commands

WorkerCommand.main()
