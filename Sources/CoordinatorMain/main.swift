import Commands

ProcessMemory.reuseFreedBlocks()
CoordinatorCommand.main()
