import Commands

ProcessMemory.reuseFreedBlocks()
WorkerCommand.main()
