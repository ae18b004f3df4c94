import Commands

CoordinatorCommand.main()
