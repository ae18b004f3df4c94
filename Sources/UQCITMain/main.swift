import Commands

ProcessMemory.reuseFreedBlocks()
UQCITCommand.main()
